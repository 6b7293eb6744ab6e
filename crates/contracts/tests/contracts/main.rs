//! Tests of the contracts crate: the mechanism on a provider written here,
//! and the book's clients recorded as the consumer `book-client`.

mod book_client;
mod mechanism;
