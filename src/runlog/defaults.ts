// What a reader assumes when a run log leaves out the target and the margin of lagging: the
// config's own defaults (monitoring.target, monitoring.lagMargin), read from the schema, the one
// place they are written.
import schema from '../../python/layer_rotation/layerrot.schema.json';

const monitoring = schema.properties.monitoring.properties;

/** The cosine distance every layer should reach. */
export const DEFAULT_TARGET: number = monitoring.target.default;
/** A layer lags below target - lagMargin. */
export const DEFAULT_LAG_MARGIN: number = monitoring.lagMargin.default;
