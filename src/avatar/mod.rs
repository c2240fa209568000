//! avatar stage (being written).
