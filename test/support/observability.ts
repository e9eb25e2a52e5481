import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import {
  OAuth2EventSink,
  OAuth2Metrics,
  type OAuth2AuthFailureReason,
  type OAuth2Event,
  type OAuth2EventInput,
  type OAuth2EventType,
  type OAuth2RevocationStoreOperation,
  type OAuth2TokenRequestOutcome,
} from '../../src/index.js';
import type { Platform } from './app.js';
import { CapturingLogger } from './logger.js';

/** A sink that keeps every event, for assertions (`.overrideProvider(OAuth2EventSink)` or `eventSink`). */
export class RecordingEventSink extends OAuth2EventSink {
  readonly events: OAuth2Event[] = [];

  emit(event: OAuth2EventInput): void {
    this.events.push({ time: new Date().toISOString(), ...event } as OAuth2Event);
  }

  /** The events of one type. */
  of<T extends OAuth2EventType>(type: T): Extract<OAuth2Event, { type: T }>[] {
    return this.events.filter((event) => event.type === type) as Extract<
      OAuth2Event,
      { type: T }
    >[];
  }

  /** Every event as JSON, for leak scans. */
  text(): string {
    return JSON.stringify(this.events);
  }
}

/** One OAuth2Metrics call, as recorded. */
export type MetricsCall =
  | ['tokenRequest', OAuth2TokenRequestOutcome]
  | ['authFailure', OAuth2AuthFailureReason]
  | ['kdfWait', number]
  | ['revocationStore', OAuth2RevocationStoreOperation, number, boolean];

/** OAuth2Metrics that records the calls this suite's paths make (`.overrideProvider(OAuth2Metrics)`). */
export class RecordingMetrics extends OAuth2Metrics {
  readonly calls: MetricsCall[] = [];
  /** The KDF load callbacks registered through observeKdfLoad and not disposed of since. */
  readonly loads: Array<() => { running: number; waiting: number }> = [];

  override tokenRequest(outcome: OAuth2TokenRequestOutcome): void {
    this.calls.push(['tokenRequest', outcome]);
  }

  override authFailure(reason: OAuth2AuthFailureReason): void {
    this.calls.push(['authFailure', reason]);
  }

  override kdfWait(ms: number): void {
    this.calls.push(['kdfWait', ms]);
  }

  override observeKdfLoad(load: () => { running: number; waiting: number }): () => void {
    this.loads.push(load);
    return () => {
      const at = this.loads.indexOf(load);
      if (at >= 0) this.loads.splice(at, 1);
    };
  }

  override revocationStore(
    operation: OAuth2RevocationStoreOperation,
    ms: number,
    failed: boolean,
  ): void {
    this.calls.push(['revocationStore', operation, ms, failed]);
  }

  /** The calls of one method, without the method's name. */
  of<M extends MetricsCall[0]>(method: M): Array<Extract<MetricsCall, [M, ...unknown[]]>> {
    return this.calls.filter((call) => call[0] === method) as Array<
      Extract<MetricsCall, [M, ...unknown[]]>
    >;
  }
}

/** Builds an app of the module with `customize` applied to the testing module (overrides). */
export async function auditApp(
  metadata: ModuleMetadata,
  {
    platform = 'express',
    logger = new CapturingLogger(),
    customize = (builder) => builder,
  }: {
    platform?: Platform;
    logger?: CapturingLogger;
    customize?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  } = {},
): Promise<INestApplication> {
  const moduleRef = await customize(Test.createTestingModule(metadata)).setLogger(logger).compile();
  const app =
    platform === 'express'
      ? moduleRef.createNestApplication({ logger })
      : moduleRef.createNestApplication(new FastifyAdapter(), { logger });
  await app.init();
  if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** Overrides the app's event sink and metrics with these recording ones (`auditApp`'s `customize`). */
export const recordingInto =
  (sink: OAuth2EventSink, metrics: OAuth2Metrics) =>
  (builder: TestingModuleBuilder): TestingModuleBuilder =>
    builder
      .overrideProvider(OAuth2EventSink)
      .useValue(sink)
      .overrideProvider(OAuth2Metrics)
      .useValue(metrics);
