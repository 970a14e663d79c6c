export {
  ASSOCIATION_TYPE_IDS,
  createHubSpotGateway,
  HubSpotGateway,
  type HubSpotGatewayOptions,
  type HubSpotItemError,
  type HubSpotPropertyDefinition,
  type HubSpotTier,
  type NewProperty,
  type PropertyGroup,
  type RetryInfo,
  type WriteOutcome,
} from './gateway.js'
export {HubSpotApiError, HubSpotTimeoutError, REQUIRED_SCOPES} from './failures.js'
export {RateLimiter, TIER_TEN_SECOND_MAX, budgetFor} from './limiter.js'
export {ensureSyncProperties, type SetupChange, type EnsureSyncPropertiesOptions} from './setup.js'
