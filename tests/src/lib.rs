//! End-to-end tests live in `e2e/` (one test binary). This library is empty; the crate exists to
//! hold them and the `engine` binary they run.
