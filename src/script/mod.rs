//! script stage (being written).
