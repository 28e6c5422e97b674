export { ParleyClient, type Ack, type ClientEvents, type ClientOptions, type ConnectionState, type SocketLike } from './client.js';
export { ParleyRequestError } from './rest.js';
