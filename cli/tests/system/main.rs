//! System tests: the whole MyThoughts (users, thoughts, frontend) started
//! in-process on free ports, driven over HTTP like a browser would. Only
//! journeys that need the real services together live here; the frontend's
//! own behaviour (degraded mode, CSRF, cookies, escaping, headers, form
//! errors) is tested against stub backends in `services/frontend/tests/`.

mod attacks;
mod browser_like;
mod files;
mod journey;
mod sessions;
