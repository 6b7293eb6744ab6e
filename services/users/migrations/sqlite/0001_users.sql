-- Accounts. Usernames are unique as written (case-sensitive, like the book).
create table users (
    id integer primary key autoincrement, -- autoincrement: ids are never reused
    username text not null unique,
    password_hash text not null,          -- argon2id PHC string
    creation text not null,               -- UTC
    is_admin integer not null default 0
);
