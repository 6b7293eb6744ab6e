//! Black-box tests of the frontend's pages: the real `Application` on port
//! 0 in front of stub users and thoughts services written here (the
//! frontend never depends on the services' crates), plus router tests
//! without sockets. One test binary, to keep link time down.

mod contracts;
mod csrf;
mod degraded;
mod docs;
mod forms;
mod helpers;
mod router;
mod security;
mod sessions;
mod signout;
mod stubs;
