-- Thoughts and their search index.
create table thoughts (
    id integer primary key autoincrement, -- autoincrement: ids are never reused
    username text not null,
    text text not null,
    -- The text case-folded by the service (Unicode lower case), so that both
    -- engines fold the same way whatever their locale. Search matches it.
    folded text not null,
    timestamp text not null               -- UTC
);

create index thoughts_username_id on thoughts (username, id);

-- Substring search served by an index: FTS5 trigram over the folded text.
-- case_sensitive 1 because the text is already folded.
create virtual table thoughts_fts using fts5(
    folded,
    content = 'thoughts',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1'
);

-- External-content FTS tables are kept in sync by triggers.
create trigger thoughts_fts_insert after insert on thoughts begin
    insert into thoughts_fts (rowid, folded) values (new.id, new.folded);
end;
create trigger thoughts_fts_delete after delete on thoughts begin
    insert into thoughts_fts (thoughts_fts, rowid, folded) values ('delete', old.id, old.folded);
end;
create trigger thoughts_fts_update after update of folded on thoughts begin
    insert into thoughts_fts (thoughts_fts, rowid, folded) values ('delete', old.id, old.folded);
    insert into thoughts_fts (rowid, folded) values (new.id, new.folded);
end;
