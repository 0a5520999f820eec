//! Category tree (being built).
