export { ParleyClient, ParleyRequestError, type Ack, type ClientEvents, type ClientOptions, type ConnectionState, type SocketLike } from './client.js';
