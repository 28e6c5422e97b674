export * from './keys.js';
export * from './scripts.js';
export * from './script-errors.js';
export * from './presence.js';
export * from './persister-lag.js';
export * from './connect.js';
export * from './partitions.js';
export * from './field-pairs.js';
