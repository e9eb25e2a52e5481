import { metrics } from '@opentelemetry/api';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

/** A reader that exports nothing by itself: the test collects when it wants to look. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One recorded point: its attributes, and its value (a count, a sum, or a histogram's count and sum). */
export interface RecordedPoint {
  attributes: Record<string, unknown>;
  value: number | { count: number; sum: number | undefined };
}

/** What the in-memory OpenTelemetry SDK holds for one instrument. */
export interface RecordedMetric {
  name: string;
  unit: string;
  kind: 'sum' | 'gauge' | 'histogram' | 'exponential_histogram';
  monotonic: boolean | undefined;
  scope: { name: string; version: string | undefined };
  points: RecordedPoint[];
}

const KINDS = {
  [DataPointType.SUM]: 'sum',
  [DataPointType.GAUGE]: 'gauge',
  [DataPointType.HISTOGRAM]: 'histogram',
  [DataPointType.EXPONENTIAL_HISTOGRAM]: 'exponential_histogram',
} as const;

/**
 * A real OpenTelemetry SDK MeterProvider with an in-memory reader, registered as the global MeterProvider (as
 * an app's `NodeSDK` start would): create the Nest app after `install()`, `uninstall()` after closing it.
 */
export class InstalledMeterProvider {
  private readonly reader = new CollectingReader();
  private readonly provider = new MeterProvider({ readers: [this.reader] });

  static install(): InstalledMeterProvider {
    const installed = new InstalledMeterProvider();
    if (!metrics.setGlobalMeterProvider(installed.provider)) {
      throw new Error(
        'A global MeterProvider is already registered: a test did not uninstall its own',
      );
    }
    return installed;
  }

  /** Every instrument with its points, by name (cumulative since install). */
  async collect(): Promise<Map<string, RecordedMetric>> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw errors[0];
    const found = new Map<string, RecordedMetric>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        found.set(metric.descriptor.name, recorded(metric, scope.scope));
      }
    }
    return found;
  }

  /** The value of the point of `name` with exactly `attributes`; undefined when none was recorded. */
  async value(
    name: string,
    attributes: Record<string, unknown>,
  ): Promise<RecordedPoint['value'] | undefined> {
    const metric = (await this.collect()).get(name);
    const key = JSON.stringify(sorted(attributes));
    return metric?.points.find((point) => JSON.stringify(sorted(point.attributes)) === key)?.value;
  }

  async uninstall(): Promise<void> {
    metrics.disable();
    await this.provider.shutdown();
  }
}

function recorded(metric: MetricData, scope: { name: string; version?: string }): RecordedMetric {
  return {
    name: metric.descriptor.name,
    unit: metric.descriptor.unit,
    kind: KINDS[metric.dataPointType],
    monotonic: metric.dataPointType === DataPointType.SUM ? metric.isMonotonic : undefined,
    scope: { name: scope.name, version: scope.version },
    points: (metric.dataPoints as MetricData['dataPoints']).map((point) => ({
      attributes: { ...point.attributes },
      value:
        typeof point.value === 'number'
          ? point.value
          : {
              count: (point.value as { count: number }).count,
              sum: (point.value as { sum?: number }).sum,
            },
    })),
  };
}

function sorted(attributes: Record<string, unknown>): [string, unknown][] {
  return Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b));
}
