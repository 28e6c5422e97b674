export * from './common.js';
export * from './frames.js';
export * from './rest.js';
export * from './errors.js';
export * from './close-codes.js';
export * from './limits.js';
export * from './events.js';
export * from './formats.js';
