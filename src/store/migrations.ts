/**
 * Schema migrations of the SQLite store, applied in order inside one transaction each; the database's
 * `user_version` records how many have run. Append only: never edit a migration that has shipped.
 */
export const MIGRATIONS: string[] = [
  `CREATE TABLE resources (
     kind TEXT NOT NULL,
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     version INTEGER NOT NULL,
     body TEXT NOT NULL,
     PRIMARY KEY (kind, namespace, name)
   ) WITHOUT ROWID;
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
   INSERT INTO counters (name, value) VALUES ('resourceVersion', 0);`,
];
