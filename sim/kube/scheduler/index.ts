// Public face of kube-sim's scheduler loop.
export { startScheduler, type Scheduler, type SchedulerOptions, type SchedulerStats } from './scheduler.ts';
export { parseSchedulerConfig, DEFAULT_EXTENDER_TIMEOUT_MS, type KubeSchedulerConfigurationInput, type SchedulerConfig, type ExtenderConfig } from './config.ts';
export { fitErrorMessage } from './message.ts';
