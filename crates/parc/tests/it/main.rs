//! Parc's integration tests, one binary: real sockets on 127.0.0.1:0, the real `parc` binary,
//! both database backends, the permission matrix, and a headless Chromium session.

mod agents;
mod app;
mod browser;
mod browser_campaign;
mod browser_handover;
mod browser_helpdesk;
mod browser_monitoring;
mod browser_sign;
mod chrome;
mod http;
mod inventory_pages;
mod monitoring_nodes;
mod permissions;
mod quickstart;
