-- Two-character needles (issue 13): the trigram index cannot look them up
-- directly, but every occurrence of a two-character needle is either the
-- start of a trigram in `thoughts_fts` or the last two characters of the
-- text. The vocabulary table lists the index's trigrams (a range of them is
-- the trigrams starting with the needle); the expression index finds the
-- texts ending with it. store/sqlite.rs combines the two.
create virtual table thoughts_fts_vocab using fts5vocab(thoughts_fts, 'row');

create index thoughts_folded_tail on thoughts (substr(folded, -2));
