"""Versioned schema migrations of the registry database.

Each entry of ``MIGRATIONS`` moves the schema from version ``i`` to ``i + 1``.
Never edit a migration that has shipped: append a new one.
"""

from __future__ import annotations

SCHEMA_VERSION_KEY = "schema_version"

# DuckDB 2.x writes files older DuckDB releases cannot open unless the storage
# version is pinned. We pin it so that a registry can be read by any DuckDB >= 1.0.
STORAGE_COMPATIBILITY_VERSION = "v1.0.0"

MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the foundation
    [
        """CREATE TABLE IF NOT EXISTS meta (
            key VARCHAR PRIMARY KEY,
            value VARCHAR NOT NULL)""",
        "CREATE SEQUENCE IF NOT EXISTS seq_models START 1",
        """CREATE TABLE models (
            id BIGINT PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            task VARCHAR,
            description VARCHAR,
            tags VARCHAR NOT NULL DEFAULT '{}',
            created_at VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL)""",
        "CREATE SEQUENCE IF NOT EXISTS seq_versions START 1",
        """CREATE TABLE versions (
            id BIGINT PRIMARY KEY,
            model_id BIGINT NOT NULL,
            version INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            format VARCHAR NOT NULL,
            estimator_class VARCHAR,
            params VARCHAR NOT NULL DEFAULT '{}',
            signature VARCHAR NOT NULL DEFAULT '{}',
            lineage VARCHAR NOT NULL DEFAULT '{}',
            tags VARCHAR NOT NULL DEFAULT '{}',
            status VARCHAR NOT NULL DEFAULT 'ok',
            created_at VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL,
            UNIQUE (model_id, version))""",
        "CREATE INDEX idx_versions_sha ON versions (sha256)",
        """CREATE TABLE version_metrics (
            version_id BIGINT NOT NULL,
            key VARCHAR NOT NULL,
            value DOUBLE,
            PRIMARY KEY (version_id, key))""",
        """CREATE TABLE aliases (
            model_id BIGINT NOT NULL,
            alias VARCHAR NOT NULL,
            version_id BIGINT NOT NULL,
            set_at VARCHAR NOT NULL,
            set_by VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            PRIMARY KEY (model_id, alias))""",
        "CREATE SEQUENCE IF NOT EXISTS seq_datasets START 1",
        """CREATE TABLE datasets (
            id BIGINT PRIMARY KEY,
            fingerprint VARCHAR NOT NULL UNIQUE,
            name VARCHAR,
            role VARCHAR,
            rows BIGINT,
            schema VARCHAR NOT NULL DEFAULT '{}',
            source VARCHAR,
            created_at VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL)""",
        "CREATE SEQUENCE IF NOT EXISTS seq_runs START 1",
        """CREATE TABLE runs (
            id BIGINT PRIMARY KEY,
            kind VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            progress DOUBLE NOT NULL DEFAULT 0,
            model_id BIGINT,
            version_id BIGINT,
            params VARCHAR NOT NULL DEFAULT '{}',
            result VARCHAR NOT NULL DEFAULT '{}',
            error VARCHAR,
            created_at VARCHAR NOT NULL,
            started_at VARCHAR,
            finished_at VARCHAR,
            created_by VARCHAR NOT NULL)""",
        """CREATE TABLE metric_points (
            run_id BIGINT NOT NULL,
            key VARCHAR NOT NULL,
            step BIGINT NOT NULL,
            ts TIMESTAMP,
            value DOUBLE)""",
        """CREATE TABLE audit (
            seq BIGINT PRIMARY KEY,
            ts VARCHAR NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            entity_type VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL,
            before VARCHAR,
            after VARCHAR,
            reason VARCHAR,
            prev_hash VARCHAR NOT NULL,
            hash VARCHAR NOT NULL)""",
        """CREATE TABLE quarantine (
            id BIGINT PRIMARY KEY,
            sha256 VARCHAR,
            source VARCHAR NOT NULL,
            stored_as VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            quarantined_at VARCHAR NOT NULL,
            quarantined_by VARCHAR NOT NULL)""",
    ],
    # 1 -> 2: training and validation (validation runs, predictions, comparisons)
    [
        "CREATE SEQUENCE IF NOT EXISTS seq_validations START 1",
        """CREATE TABLE validations (
            id BIGINT PRIMARY KEY,
            run_id BIGINT NOT NULL,
            version_id BIGINT NOT NULL,
            data_fingerprint VARCHAR NOT NULL,
            data_source VARCHAR,
            rows BIGINT NOT NULL,
            task VARCHAR NOT NULL,
            target VARCHAR NOT NULL,
            metrics VARCHAR NOT NULL DEFAULT '{}',
            curves VARCHAR NOT NULL DEFAULT '{}',
            predictions_sha256 VARCHAR NOT NULL,
            created_at VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL)""",
        "CREATE INDEX idx_validations_version ON validations (version_id, data_fingerprint)",
        "CREATE SEQUENCE IF NOT EXISTS seq_comparisons START 1",
        """CREATE TABLE comparisons (
            id BIGINT PRIMARY KEY,
            run_id BIGINT NOT NULL,
            champion_version_id BIGINT NOT NULL,
            challenger_version_id BIGINT NOT NULL,
            champion_validation_id BIGINT NOT NULL,
            challenger_validation_id BIGINT NOT NULL,
            data_fingerprint VARCHAR NOT NULL,
            differences VARCHAR NOT NULL DEFAULT '[]',
            gates VARCHAR NOT NULL DEFAULT '[]',
            promotion_allowed BOOLEAN NOT NULL,
            created_at VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL)""",
    ],
    # 2 -> 3: monitoring (reference profiles, batch checks, drift results)
    [],
    # 3 -> 4: watched folders and the files taken from them (exactly once)
    [
        "CREATE SEQUENCE IF NOT EXISTS seq_folders START 1",
        """CREATE TABLE watched_folders (
            id BIGINT PRIMARY KEY,
            path VARCHAR NOT NULL UNIQUE,
            kind VARCHAR NOT NULL,
            model_name VARCHAR,
            polling BOOLEAN NOT NULL DEFAULT false,
            paused BOOLEAN NOT NULL DEFAULT false,
            options VARCHAR NOT NULL DEFAULT '{}',
            created_at VARCHAR NOT NULL,
            created_by VARCHAR NOT NULL)""",
        """CREATE TABLE ingested_files (
            folder_id BIGINT NOT NULL,
            path VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            mtime DOUBLE NOT NULL,
            status VARCHAR NOT NULL,
            result VARCHAR,
            ingested_at VARCHAR NOT NULL,
            PRIMARY KEY (folder_id, path, sha256))""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
