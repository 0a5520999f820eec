//! Products (being built).
