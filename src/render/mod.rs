//! render stage (being written).
