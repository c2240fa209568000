//! stream stage (being written).
