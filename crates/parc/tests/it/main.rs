//! Parc's integration tests, one binary: real sockets on 127.0.0.1:0, the real `parc` binary,
//! both database backends, the permission matrix, and a headless Chromium session.

mod app;
mod browser;
mod http;
mod permissions;
mod quickstart;
