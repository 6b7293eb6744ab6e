//! System tests: the whole MyThoughts (users, thoughts, frontend) started
//! in-process on free ports, driven over HTTP like a browser would.

mod browser_like;
mod degraded;
mod journey;
mod security;
