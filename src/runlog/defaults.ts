// What a reader assumes when a run log leaves out the target, the margin of lagging or the
// accuracy at which a run has fit: the config's own defaults (monitoring.target, .lagMargin,
// .fitAccuracy), read from the schema, the one place they are written.
import schema from '../../python/layer_rotation/layerrot.schema.json';

const monitoring = schema.properties.monitoring.properties;

/** The cosine distance every layer should reach. */
export const DEFAULT_TARGET: number = monitoring.target.default;
/** A layer lags below target - lagMargin. */
export const DEFAULT_LAG_MARGIN: number = monitoring.lagMargin.default;
/** A finished run has fit its training data at this final training accuracy or above. */
export const DEFAULT_FIT_ACCURACY: number = monitoring.fitAccuracy.default;
