/** The Consul-compatible API: its routes plugin and the token mapping that lets Consul clients authenticate. */
export { consulRoutes, type ConsulDeps, type ConsulOptions } from './routes.js';
export { consulTokenMapping } from './token.js';
export { fromConsulService, unwrapServiceDefinition, parseGoDuration, type ConsulRegistration } from './definition.js';
