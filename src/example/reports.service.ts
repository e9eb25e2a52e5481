import { Injectable } from '@nestjs/common';

export interface Report {
  id: number;
  title: string;
  created_by: string;
  created_at: string;
}

/** The example's resource: reports kept in memory for the life of the process. */
@Injectable()
export class ReportsService {
  private readonly reports: Report[] = [];

  list(): Report[] {
    return [...this.reports];
  }

  create(title: string, createdBy: string): Report {
    const report = {
      id: this.reports.length + 1,
      title,
      created_by: createdBy,
      created_at: new Date().toISOString(),
    };
    this.reports.push(report);
    return report;
  }
}
