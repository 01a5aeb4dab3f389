//! Checks in a CI pipeline: a merge request is validated and planned without write access
//! (a read-only PostgreSQL role, a read-only SQLite file), and usage errors exit 1.

use crate::both_stores;
use crate::support::{Db, Env, pg_exec, text, zone_yaml};

/// A URL reaching the store of `env` without the right to write: a role that may only
/// read (PostgreSQL), or the file opened read-only (SQLite).
pub(crate) fn read_only_url(env: &Env, db: Db) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}?mode=ro", env.db),
        Db::Postgres => {
            let (base, name) = env.db.rsplit_once('/').unwrap();
            let role = format!("{name}_ro");
            pg_exec(format!(
                "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; \
                 GRANT CONNECT ON DATABASE {name} TO {role};"
            ));
            // grants inside the store's database: as its owner
            let owner = env.db.clone();
            crate::support::block_on(async move {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&owner).await.unwrap();
                let grant = format!(
                    "GRANT USAGE ON SCHEMA public TO {role}; \
                     GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(grant))
                    .execute(&mut c)
                    .await
                    .unwrap();
            });
            let host = base.rsplit_once('@').map(|(_, h)| h).unwrap_or(base);
            format!("postgres://{name}_ro@{host}/{name}")
        }
    }
}

both_stores!(a_merge_request_is_planned_with_a_read_only_store, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone");
    env.apply(&[], 0);
    let before = env.store_dump();
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.zone("b.test", &zone_yaml("192.0.2.3"));
    env.commit("the merge request");
    let url = read_only_url(&env, db);
    let out = env.zk_db(&url, &["plan", "--detailed-exitcode"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("+ www.a.test. 300 IN A 192.0.2.2"),
        "{shown}"
    );
    assert!(shown.contains("create b.test."), "{shown}");
    // the read-only connection cannot apply: it says so, and nothing changed
    let out = env.zk_db(&url, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("read-only"), "{}", text(&out));
    assert_eq!(env.store_dump(), before, "the store is unchanged");
    assert_eq!(
        crate::support::dig_short(env.lab.dns_addr("ns1").unwrap(), "www.a.test.", "A"),
        vec!["192.0.2.1"]
    );
});

both_stores!(
    an_outdated_store_read_only_says_which_role_must_migrate_it,
    |db| {
        let env = Env::new(db);
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        env.commit("one zone");
        env.apply(&[], 0);
        // as made by the release before migration 8 (`zones.source`)
        let undo = [
            "DROP INDEX zones_index",
            "ALTER TABLE zones DROP COLUMN source",
            "CREATE INDEX zones_index ON zones (name, serial, content_hash, verified, commit_id, grp)",
            "DELETE FROM _sqlx_migrations WHERE version = 8",
        ];
        let url = read_only_url(&env, db);
        let owner = match db {
            Db::Sqlite => format!("sqlite://{}", env.db),
            Db::Postgres => env.db.clone(),
        };
        crate::support::block_on(async move {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&owner).await.unwrap();
            for sql in undo {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        });
        let out = env.zk_db(&url, &["plan"]);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(1), "{shown}");
        assert!(
            shown.contains("schema is older") && shown.contains("a role that owns the schema"),
            "{shown}"
        );
        // as the message says: once with the owner, then the read-only role plans
        env.assert_converged("the owner migrates the store");
        let out = env.zk_db(&url, &["plan", "--detailed-exitcode"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
);

#[test]
fn usage_errors_exit_1_never_2() {
    let zk = env!("CARGO_BIN_EXE_zonekeeper");
    for args in [
        &["plan", "--no-such-flag"][..],
        &["no-such-command"][..],
        &["confirm"][..],
        &["plan", "--format", "yaml"][..],
    ] {
        let out = std::process::Command::new(zk).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(!out.stderr.is_empty(), "{args:?}: the error is shown");
    }
    for args in [&["--help"][..], &["plan", "--help"][..], &["--version"][..]] {
        let out = std::process::Command::new(zk).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    }
}
