//! Integration tests: the real application on port 0 with a temporary SQLite file, driven
//! over HTTP. One binary, so it links once and shares helpers.

// A failed unwrap is how a test reports what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acknowledge;
mod alerting;
mod assertions;
mod auth;
mod badges;
mod binary;
mod browser;
mod causes;
mod channels;
mod checks;
mod cli;
mod degraded;
mod dispatch;
mod dns;
mod domains;
mod heartbeats;
mod helpers;
mod hostile;
mod icmp;
mod import;
mod instances;
mod kinds;
mod locations;
mod monitoring;
mod names;
mod netns;
mod openapi;
mod pagers;
mod persistence;
mod postgres;
mod probe;
mod receivers;
mod retention;
mod routes;
mod secrets;
mod security;
mod services;
mod stacks;
mod statuscake;
mod statuscake_contract;
mod statuscake_models;
mod storm;
mod subscriptions;
mod targets;
mod trust;
mod updates;
mod validation;
mod web;
