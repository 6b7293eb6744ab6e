-- Look-alike usernames (issue 9). Each account's look-alike key (the UTS #39
-- skeleton of its NFKC, lower-cased name: domain::look_alike_key) lives here,
-- unique, so that `Admin`, Cyrillic `аdmin` and full-width `ａdmin` cannot sit
-- beside `admin`. Expand only: `users` is untouched and `users.username`
-- stays the login name, unique as written.
--
-- Keys are computed in Rust, so this migration cannot fill the table: the
-- service backfills it at start-up (store::backfill_look_alike_keys) in id
-- order, and the first account of a pre-existing group of look-alikes keeps
-- the key; the others stay without one and keep signing in, while any new
-- look-alike of them is refused through the first one's key.
create table username_keys (
    name_key text primary key,
    user_id bigint not null unique references users (id) on delete cascade
);
