/**
 * The version of this virtfleet build (API, agent and CLI are released together; package.json
 * says the same). Agents announce it with their facts; an API works with agents of its own and
 * the previous minor version (docs/upgrade.md).
 */
export const VIRTFLEET_VERSION = '0.2.0';
