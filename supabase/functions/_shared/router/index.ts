// The smart router: see decide.ts (the decision), features.ts and model.ts (the classifier).
export {
  availableCheck,
  decide,
  defaultAvailable,
  explain,
  fallbackModelsFor,
  planAllows,
  servable,
  servableCheck,
} from "./decide.ts";
export type { Preference, RankedModel, Requirement, RouteDecision, RouteRequest } from "./decide.ts";
export type { Attachment } from "./features.ts";
