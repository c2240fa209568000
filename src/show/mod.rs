//! show stage (being written).
