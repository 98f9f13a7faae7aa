/**
 * GENERATED FILE: do not edit. Types of the hub's API and of the Jupyter server extension's
 * routes, made by openapi-typescript from lab_ext/openapi.json (itself generated from
 * zslab/schemas.py, the hub's routers and zslab/jupyter/models.py).
 *
 * Regenerate with `make types` after changing any of them; tests/jupyter/test_lab_types.py
 * fails while this file is stale. Friendly names for these types live in src/types.ts.
 */

export interface paths {
    "/api/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Audit.List */
        get: operations["audit_list_api_v1_audit_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cases": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Case.Search
         * @description Cases you may see that match the query and filters.
         */
        get: operations["case_search_api_v1_cases_get"];
        put?: never;
        /**
         * Case.Publish
         * @description Publish runs as a new case: version 1, submitted for review unless ``submit`` is false.
         */
        post: operations["case_publish_api_v1_cases_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cases/leaderboards": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Case.Leaderboards
         * @description Ranked published versions per task, dataset and metric (comparable results only).
         */
        get: operations["case_leaderboards_api_v1_cases_leaderboards_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cases/{slug}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Case.Get
         * @description A case with its versions (drafts only for its editors) and reproductions.
         */
        get: operations["case_get_api_v1_cases__slug__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Case.Update
         * @description Change visibility, or the newest version's content while it is a draft.
         */
        patch: operations["case_update_api_v1_cases__slug__patch"];
        trace?: never;
    };
    "/api/v1/cases/{slug}/model-card": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Case.Model Card
         * @description The case as a Hugging Face model card ``README.md`` with ``model-index``.
         */
        get: operations["case_model_card_api_v1_cases__slug__model_card_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cases/{slug}/reproductions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Case.Reproductions */
        get: operations["case_reproductions_api_v1_cases__slug__reproductions_get"];
        put?: never;
        /**
         * Case.Reproduce
         * @description Record a re-run: the hub compares the runs' results with the version's.
         */
        post: operations["case_reproduce_api_v1_cases__slug__reproductions_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cases/{slug}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Case.Version.Create
         * @description A new version from runs: how a published case gets a fix.
         */
        post: operations["case_version_create_api_v1_cases__slug__versions_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cases/{slug}/versions/{number}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Case.Version.Get
         * @description One version with its review history.
         */
        get: operations["case_version_get_api_v1_cases__slug__versions__number__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cases/{slug}/versions/{number}/review": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Case.Review
         * @description Submit, withdraw, approve, request changes, archive, or comment.
         */
        post: operations["case_review_api_v1_cases__slug__versions__number__review_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/estimate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Estimate.Get
         * @description What a request would cost (time-of-use tariff, subsidy) and whether it fits now; with
         *     the cheapest start within a day, for flexible work.
         */
        get: operations["estimate_get_api_v1_estimate_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Event.Stream
         * @description Lease events as server-sent events (``text/event-stream``); reconnect with
         *     ``Last-Event-ID`` to receive what was missed.
         */
        get: operations["event_stream_api_v1_events_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/fairshare": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Fairshare.Get
         * @description Each visible project's weighted dominant share of decayed recent use (lower goes first).
         */
        get: operations["fairshare_get_api_v1_fairshare_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Health */
        get: operations["health_api_v1_health_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inventory": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Inventory.Get */
        get: operations["inventory_get_api_v1_inventory_get"];
        /**
         * Inventory.Put
         * @description Load a new inventory (YAML). Refused, naming them, while live leases sit on nodes the
         *     new inventory drops or changes: nothing is migrated silently.
         */
        put: operations["inventory_put_api_v1_inventory_put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/leases": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Lease.List
         * @description Leases of the projects you belong to (all for admins), newest first.
         */
        get: operations["lease_list_api_v1_leases_get"];
        put?: never;
        /**
         * Lease.Create
         * @description Request a slice: granted now (with its placement) or queued (with position and an
         *     estimated start).
         */
        post: operations["lease_create_api_v1_leases_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/leases/{lease_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Lease.Get */
        get: operations["lease_get_api_v1_leases__lease_id__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/leases/{lease_id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Lease.Events */
        get: operations["lease_events_api_v1_leases__lease_id__events_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/leases/{lease_id}/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Lease.Heartbeat
         * @description Keep a granted lease alive (and report its utilisation); the answer carries any
         *     preemption notice.
         */
        post: operations["lease_heartbeat_api_v1_leases__lease_id__heartbeat_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/leases/{lease_id}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Lease.Release
         * @description Give the slice back (or cancel the request). Releasing an ended lease changes nothing
         *     and answers its final state.
         */
        post: operations["lease_release_api_v1_leases__lease_id__release_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/leases/{lease_id}/renew": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Lease.Renew */
        post: operations["lease_renew_api_v1_leases__lease_id__renew_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Me.Get
         * @description The caller as authenticated: served from the identity cache, no database work.
         */
        get: operations["me_get_api_v1_me_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/nodes/{node}/drain": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Node.Drain
         * @description Stop (``drained: true``) or resume new placements on a node; its leases keep running.
         */
        post: operations["node_drain_api_v1_nodes__node__drain_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Org.List */
        get: operations["org_list_api_v1_orgs_get"];
        put?: never;
        /** Org.Create */
        post: operations["org_create_api_v1_orgs_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Org.Get */
        get: operations["org_get_api_v1_orgs__org__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Org.Member.List */
        get: operations["org_member_list_api_v1_orgs__org__members_get"];
        /** Add a member or change a role */
        put: operations["org_member_put_api_v1_orgs__org__members_put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org}/members/{user}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Org.Member.Remove */
        delete: operations["org_member_remove_api_v1_orgs__org__members__user__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org}/quota": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Org.Quota.Put
         * @description An organization's ceiling over all its projects, in GPU units (admins).
         */
        put: operations["org_quota_put_api_v1_orgs__org__quota_put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/pools": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Pool.List
         * @description Free capacity per site, pool and model, by MIG profile or share size.
         */
        get: operations["pool_list_api_v1_pools_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/problems": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Problem.List */
        get: operations["problem_list_api_v1_problems_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/problems/{slug}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Problem.Describe */
        get: operations["problem_describe_api_v1_problems__slug__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Project.List */
        get: operations["project_list_api_v1_projects_get"];
        put?: never;
        /** Project.Create */
        post: operations["project_create_api_v1_projects_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects/{project}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A project by id or org/slug */
        get: operations["project_get_api_v1_projects__project__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Project.Update */
        patch: operations["project_update_api_v1_projects__project__patch"];
        trace?: never;
    };
    "/api/v1/projects/{project}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Project.Member.List */
        get: operations["project_member_list_api_v1_projects__project__members_get"];
        /** Project.Member.Put */
        put: operations["project_member_put_api_v1_projects__project__members_put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects/{project}/members/{user}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Project.Member.Remove */
        delete: operations["project_member_remove_api_v1_projects__project__members__user__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects/{project}/policy": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Project.Policy.Get */
        get: operations["project_policy_get_api_v1_projects__project__policy_get"];
        /**
         * Project.Policy.Put
         * @description Set a project's quota (GPU units), lease lifetimes, idle limit, weight, cohort or
         *     worker restarts (admins and owners of its organization).
         */
        put: operations["project_policy_put_api_v1_projects__project__policy_put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/reservations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Reservation.List */
        get: operations["reservation_list_api_v1_reservations_get"];
        put?: never;
        /**
         * Reservation.Create
         * @description Hold ``count`` slices of ``spec`` for a project between ``start`` and ``end``; until the
         *     window opens they serve anyone, and idle held slices are lent to preemptible batch work.
         */
        post: operations["reservation_create_api_v1_reservations_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/reservations/{reservation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Reservation.Cancel */
        delete: operations["reservation_cancel_api_v1_reservations__reservation_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Run.List
         * @description Runs of the projects you belong to (all for admins), newest first.
         */
        get: operations["run_list_api_v1_runs_get"];
        put?: never;
        /**
         * Run.Create
         * @description Record a run of a template (usually as it starts: status ``running``).
         */
        post: operations["run_create_api_v1_runs_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{run_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Run.Get
         * @description A run with its artifacts.
         */
        get: operations["run_get_api_v1_runs__run_id__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Run.Update
         * @description Move a run along (running → completed …), record its metrics, provenance or error.
         */
        patch: operations["run_update_api_v1_runs__run_id__patch"];
        trace?: never;
    };
    "/api/v1/runs/{run_id}/artifacts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Run.Artifact.List */
        get: operations["run_artifact_list_api_v1_runs__run_id__artifacts_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{run_id}/artifacts/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Run.Artifact.Get
         * @description The artifact's bytes, with the media type it was stored with.
         */
        get: operations["run_artifact_get_api_v1_runs__run_id__artifacts__name__get"];
        /**
         * Run.Artifact.Put
         * @description Store the request body as the run's artifact ``name`` (replacing one of that name).
         *
         *     The body streams to the store as it arrives; ``executed.ipynb`` also becomes the run's
         *     ``notebook_sha256``.
         */
        put: operations["run_artifact_put_api_v1_runs__run_id__artifacts__name__put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Token.List */
        get: operations["token_list_api_v1_tokens_get"];
        put?: never;
        /** Token.Create */
        post: operations["token_create_api_v1_tokens_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens/{token_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Token.Revoke */
        delete: operations["token_revoke_api_v1_tokens__token_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Usage.Get
         * @description Slice-hours, energy, cost under the time-of-use tariff, subsidy, net cost, green power,
         *     CO2 and the domestic share, per group, over your projects (everything for admins).
         */
        get: operations["usage_get_api_v1_usage_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List users (admins) */
        get: operations["user_list_api_v1_users_get"];
        put?: never;
        /** Add a user (admins) */
        post: operations["user_create_api_v1_users_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users/{user}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A user by id or name */
        get: operations["user_get_api_v1_users__user__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** User.Update */
        patch: operations["user_update_api_v1_users__user__patch"];
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** ArtifactRead */
        ArtifactRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Media Type */
            media_type: string;
            /** Name */
            name: string;
            /** Run Id */
            run_id: string;
            /** Sha256 */
            sha256: string;
            /** Size */
            size: number;
        };
        /** AuditEventRead */
        AuditEventRead: {
            /** Action */
            action: string;
            /** Actor Id */
            actor_id: string | null;
            /** Actor Name */
            actor_name: string | null;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /** Client Addr */
            client_addr: string | null;
            /** Detail */
            detail: string | null;
            /** Id */
            id: number;
            /** Method */
            method: string;
            /** Object Id */
            object_id: string | null;
            /** Object Type */
            object_type: string | null;
            /** Outcome */
            outcome: string;
            /** Path */
            path: string;
            /** Request Id */
            request_id: string;
            /** Status */
            status: number;
            /** Token Id */
            token_id: string | null;
        };
        /** BoardEntryRead */
        BoardEntryRead: {
            /** High */
            high: number | null;
            /** Low */
            low: number | null;
            /** Rank */
            rank: number;
            /** Reproduced */
            reproduced: boolean;
            /** Slug */
            slug: string;
            /** Tied */
            tied: boolean;
            /** Title */
            title: string;
            /** Value */
            value: number;
            /** Version */
            version: number;
        };
        /** CaseCreate */
        CaseCreate: {
            /**
             * Changelog
             * @default
             */
            changelog?: string;
            /** Data Card */
            data_card?: {
                [key: string]: unknown;
            } | null;
            /**
             * License
             * @description SPDX id (apache-2.0, cc-by-4.0…).
             */
            license?: string | null;
            /**
             * Model
             * @description Name of the model reported.
             * @default
             */
            model?: string;
            /**
             * Model Card
             * @default
             */
            model_card?: string;
            /**
             * Project
             * @description Project id or org/slug; default: the first run's project.
             */
            project?: string | null;
            /**
             * Results
             * @description model-index results; default: the `results` the runs recorded.
             */
            results?: {
                [key: string]: unknown;
            }[] | null;
            /**
             * Runs
             * @description Ids of the runs the version reports (their results, notebooks, compute).
             */
            runs: string[];
            /**
             * Sector
             * @description finance, education, healthcare, culture_tourism, …
             */
            sector: string;
            /**
             * Slug
             * @description URL name; default: made from the title.
             */
            slug?: string | null;
            /**
             * Submit
             * @description Submit the version for review at once.
             * @default true
             */
            submit?: boolean;
            /**
             * Summary
             * @default
             */
            summary?: string;
            /** Tags */
            tags?: string[];
            /**
             * Task
             * @description Default: the first result's task.
             */
            task?: string | null;
            /**
             * Title
             * @description 中文或英文标题 / title.
             */
            title: string;
            /**
             * Title En
             * @description English title, if any.
             * @default
             */
            title_en?: string;
            /**
             * Tolerance
             * @description Absolute tolerance per metric for reproduction (else CIs must overlap).
             */
            tolerance?: {
                [key: string]: number;
            };
            /**
             * Visibility
             * @default org
             * @enum {string}
             */
            visibility?: "public" | "org" | "private";
        };
        /** CaseRead */
        CaseRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Current Version */
            current_version: number;
            /** Datasets */
            datasets: string[];
            /** Id */
            id: string;
            /** License */
            license: string;
            /** Model */
            model: string;
            /** Org Id */
            org_id: string;
            /** Owner Id */
            owner_id: string;
            /** Project Id */
            project_id: string;
            /** Published Version */
            published_version: number | null;
            /** Reproduced */
            reproduced: boolean;
            /** Reproductions */
            reproductions: components["schemas"]["ReproductionRead"][] | null;
            /** Sector */
            sector: string;
            /** Slug */
            slug: string;
            /**
             * Status
             * @enum {string}
             */
            status: "draft" | "in_review" | "published" | "archived";
            /** Summary */
            summary: string;
            /** Tags */
            tags: string[];
            /** Task */
            task: string;
            /** Title */
            title: string;
            /** Title En */
            title_en: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Versions */
            versions: components["schemas"]["CaseVersionRead"][] | null;
            /**
             * Visibility
             * @enum {string}
             */
            visibility: "public" | "org" | "private";
        };
        /** CaseReviewRead */
        CaseReviewRead: {
            /** Action */
            action: string;
            /** Actor Id */
            actor_id: string;
            /** Actor Name */
            actor_name: string | null;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /** Comment */
            comment: string;
            /** From Status */
            from_status: string;
            /** To Status */
            to_status: string;
            /** Version Id */
            version_id: string;
        };
        /** CaseSearchPage */
        CaseSearchPage: {
            /** Items */
            items: components["schemas"]["CaseRead"][];
            /** Limit */
            limit: number;
            /** Offset */
            offset: number;
            /** Total */
            total: number;
            /**
             * Total Exact
             * @default true
             */
            total_exact: boolean;
        };
        /**
         * CaseUpdate
         * @description Changes to a case (visibility) and to its draft version's content.
         */
        CaseUpdate: {
            /** Changelog */
            changelog?: string | null;
            /** License */
            license?: string | null;
            /** Model */
            model?: string | null;
            /** Model Card */
            model_card?: string | null;
            /** Results */
            results?: {
                [key: string]: unknown;
            }[] | null;
            /** Summary */
            summary?: string | null;
            /** Tags */
            tags?: string[] | null;
            /** Title */
            title?: string | null;
            /** Title En */
            title_en?: string | null;
            /** Tolerance */
            tolerance?: {
                [key: string]: number;
            } | null;
            /** Visibility */
            visibility?: ("public" | "org" | "private") | null;
        };
        /** CaseVersionCreate */
        CaseVersionCreate: {
            /**
             * Changelog
             * @default
             */
            changelog?: string;
            /** Data Card */
            data_card?: {
                [key: string]: unknown;
            } | null;
            /**
             * License
             * @description SPDX id (apache-2.0, cc-by-4.0…).
             */
            license?: string | null;
            /**
             * Model
             * @description Name of the model reported.
             * @default
             */
            model?: string;
            /**
             * Model Card
             * @default
             */
            model_card?: string;
            /**
             * Results
             * @description model-index results; default: the `results` the runs recorded.
             */
            results?: {
                [key: string]: unknown;
            }[] | null;
            /**
             * Runs
             * @description Ids of the runs the version reports (their results, notebooks, compute).
             */
            runs: string[];
            /**
             * Submit
             * @description Submit the version for review at once.
             * @default true
             */
            submit?: boolean;
            /**
             * Summary
             * @default
             */
            summary?: string;
            /** Tags */
            tags?: string[];
            /**
             * Task
             * @description Default: the first result's task.
             */
            task?: string | null;
            /**
             * Title
             * @description 中文或英文标题 / title.
             */
            title: string;
            /**
             * Title En
             * @description English title, if any.
             * @default
             */
            title_en?: string;
            /**
             * Tolerance
             * @description Absolute tolerance per metric for reproduction (else CIs must overlap).
             */
            tolerance?: {
                [key: string]: number;
            };
        };
        /** CaseVersionRead */
        CaseVersionRead: {
            /** Archived At */
            archived_at: string | null;
            /** Case Id */
            case_id: string;
            /** Changelog */
            changelog: string;
            /** Compute */
            compute: {
                [key: string]: unknown;
            };
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Created By */
            created_by: string;
            /** Data Card */
            data_card: {
                [key: string]: unknown;
            };
            /** Id */
            id: string;
            /** License */
            license: string;
            /** Model */
            model: string;
            /** Model Card */
            model_card: string;
            /** Notebooks */
            notebooks: {
                [key: string]: unknown;
            }[];
            /** Number */
            number: number;
            /** Provenance */
            provenance: {
                [key: string]: unknown;
            };
            /** Published At */
            published_at: string | null;
            /** Results */
            results: {
                [key: string]: unknown;
            }[];
            /** Reviewed By */
            reviewed_by: string | null;
            /** Reviews */
            reviews: components["schemas"]["CaseReviewRead"][] | null;
            /** Run Ids */
            run_ids: string[];
            /**
             * Slug
             * @default
             */
            slug: string;
            /**
             * Status
             * @enum {string}
             */
            status: "draft" | "in_review" | "published" | "archived";
            /** Submitted At */
            submitted_at: string | null;
            /** Summary */
            summary: string;
            /** Tags */
            tags: string[];
            /** Task */
            task: string;
            /** Title */
            title: string;
            /** Title En */
            title_en: string;
            /** Tolerance */
            tolerance: {
                [key: string]: number;
            };
        };
        /** DrainUpdate */
        DrainUpdate: {
            /**
             * Drained
             * @default true
             */
            drained?: boolean;
            /**
             * Reason
             * @default
             */
            reason?: string;
        };
        /** Estimate */
        Estimate: {
            /** Cheapest Saving */
            cheapest_saving: number | null;
            /** Cheapest Start */
            cheapest_start: string | null;
            /** Cost */
            cost: number;
            /** Currency */
            currency: string;
            /** Energy Kwh */
            energy_kwh: number;
            /** Grantable Now */
            grantable_now: boolean;
            /** Hours */
            hours: number;
            /** Net Cost */
            net_cost: number;
            /** Queue Ahead */
            queue_ahead: number;
            /** Spec */
            spec: string;
            /** Subsidy */
            subsidy: number;
            /** Tariff */
            tariff: string;
            /** Tariff Is Example */
            tariff_is_example: boolean;
        };
        /** HTTPValidationError */
        HTTPValidationError: {
            /** Detail */
            detail?: components["schemas"]["ValidationError"][];
        };
        /** Health */
        Health: {
            /** Database */
            database: {
                [key: string]: unknown;
            };
            /**
             * Status
             * @enum {string}
             */
            status: "ok" | "degraded";
            /**
             * Time
             * Format: date-time
             */
            time: string;
            /** Uptime S */
            uptime_s: number;
            /** Version */
            version: string;
        };
        /** HeartbeatCreate */
        HeartbeatCreate: {
            /** Utilization */
            utilization?: number | null;
        };
        /** HeartbeatRead */
        HeartbeatRead: {
            /** Expires At */
            expires_at: string | null;
            /** Heartbeat S */
            heartbeat_s: number;
            /** Preempt At */
            preempt_at: string | null;
            /**
             * Reason
             * @default
             */
            reason: string;
            /**
             * State
             * @enum {string}
             */
            state: "requested" | "queued" | "granted" | "active" | "released" | "expired" | "preempted" | "failed";
        };
        /** InventoryRead */
        InventoryRead: {
            /** Devices */
            devices: number;
            /** Drained */
            drained: string[];
            /** Example */
            example: boolean;
            /** Name */
            name: string;
            /** Nodes */
            nodes: number;
            /** Pools */
            pools: {
                [key: string]: unknown;
            }[];
        };
        /** InventoryUpdate */
        InventoryUpdate: {
            /**
             * Document
             * @description Inventory YAML.
             */
            document: string;
        };
        /**
         * LabConfig
         * @description ``GET /zslab/config``: where the hub is and who this server acts as there.
         */
        LabConfig: {
            /** Gallery Url */
            gallery_url: string;
            /**
             * Heartbeat S
             * @description How often a live lease should be heartbeaten.
             */
            heartbeat_s: number;
            /** Hub Url */
            hub_url: string;
            /** Scopes */
            scopes: ("read" | "write" | "admin")[];
            /**
             * Source
             * @description How the hub was found: "argument" (c.Zslab.hub_url), "env" or "runtime file".
             */
            source: string;
            /**
             * Started Hub
             * @description This server started the embedded hub.
             */
            started_hub: boolean;
            user: components["schemas"]["LabUser"];
        };
        /**
         * LabUser
         * @description The hub user this Jupyter server acts as.
         */
        LabUser: {
            /** Display Name */
            display_name: string;
            /** Name */
            name: string;
            /**
             * Role
             * @enum {string}
             */
            role: "admin" | "reviewer" | "member";
        };
        /** LeaderboardRead */
        LeaderboardRead: {
            /** Config Hash */
            config_hash: string | null;
            /** Dataset */
            dataset: string;
            /** Dataset Hash */
            dataset_hash: string | null;
            /** Entries */
            entries: components["schemas"]["BoardEntryRead"][];
            /** Higher Is Better */
            higher_is_better: boolean;
            /** Metric */
            metric: string;
            /** Task */
            task: string;
        };
        /** LeaseCreate */
        LeaseCreate: {
            /**
             * Deadline
             * @description Flexible batch: finish by.
             */
            deadline?: string | null;
            /**
             * Flexible
             * @description Batch only: may start later, cheaper.
             * @default false
             */
            flexible?: boolean;
            /**
             * Hours
             * @description TTL; the project's default.
             */
            hours?: number | null;
            /**
             * Max Wait S
             * @description Give up after waiting.
             */
            max_wait_s?: number | null;
            /**
             * Priority
             * @default interactive
             * @enum {string}
             */
            priority?: "interactive" | "batch";
            /**
             * Project
             * @description Project id or org/slug.
             */
            project?: string | null;
            /**
             * Spec
             * @description e.g. h100:3g.40gb
             */
            spec: string;
        };
        /** LeaseEventRead */
        LeaseEventRead: {
            /**
             * At
             * Format: date-time
             */
            at: string;
            /** Data */
            data: {
                [key: string]: unknown;
            };
            /** Id */
            id: number;
            /** Lease Id */
            lease_id: string;
            /** Reason */
            reason: string;
            /** State */
            state: string;
            /** Type */
            type: string;
        };
        /** LeaseRead */
        LeaseRead: {
            /**
             * Borrowed
             * @default false
             */
            borrowed: boolean;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Ended At */
            ended_at: string | null;
            /** Expires At */
            expires_at: string | null;
            /** Granted At */
            granted_at: string | null;
            /** Heartbeat S */
            heartbeat_s: number;
            /** Hours */
            hours: number;
            /** Id */
            id: string;
            /** Lent From */
            lent_from: string | null;
            /** Metering */
            metering: {
                [key: string]: unknown;
            } | null;
            /** Not Before */
            not_before: string | null;
            /** Placement */
            placement: {
                [key: string]: unknown;
            } | null;
            /** Preempt At */
            preempt_at: string | null;
            /**
             * Priority
             * @enum {string}
             */
            priority: "interactive" | "batch";
            /** Project Id */
            project_id: string;
            queue: components["schemas"]["QueueInfo"] | null;
            /**
             * Reason
             * @default
             */
            reason: string;
            /** Reservation Id */
            reservation_id: string | null;
            /** Spec */
            spec: string;
            /**
             * State
             * @enum {string}
             */
            state: "requested" | "queued" | "granted" | "active" | "released" | "expired" | "preempted" | "failed";
            /**
             * Units
             * @default 0
             */
            units: number;
            /** User Id */
            user_id: string;
            /** Worker */
            worker: {
                [key: string]: unknown;
            } | null;
        };
        /** LeaseRenew */
        LeaseRenew: {
            /** Hours */
            hours: number;
        };
        /** Me */
        Me: {
            token: components["schemas"]["TokenRead"];
            user: components["schemas"]["UserRead"];
        };
        /** OrgCreate */
        OrgCreate: {
            /**
             * Name
             * @default
             */
            name?: string;
            /** Slug */
            slug: string;
        };
        /** OrgMemberAdd */
        OrgMemberAdd: {
            /**
             * Role
             * @default member
             * @enum {string}
             */
            role?: "owner" | "member";
            /**
             * User
             * @description User name or id.
             */
            user: string;
        };
        /** OrgMemberRead */
        OrgMemberRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Role
             * @enum {string}
             */
            role: "owner" | "member";
            /** User Id */
            user_id: string;
            /** User Name */
            user_name: string;
        };
        /** OrgQuotaUpdate */
        OrgQuotaUpdate: {
            /** Quota Units */
            quota_units: number;
        };
        /** OrgRead */
        OrgRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Slug */
            slug: string;
        };
        /** Page[AuditEventRead] */
        Page_AuditEventRead_: {
            /** Items */
            items: components["schemas"]["AuditEventRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[LeaseRead] */
        Page_LeaseRead_: {
            /** Items */
            items: components["schemas"]["LeaseRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[OrgMemberRead] */
        Page_OrgMemberRead_: {
            /** Items */
            items: components["schemas"]["OrgMemberRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[OrgRead] */
        Page_OrgRead_: {
            /** Items */
            items: components["schemas"]["OrgRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[ProjectMemberRead] */
        Page_ProjectMemberRead_: {
            /** Items */
            items: components["schemas"]["ProjectMemberRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[ProjectRead] */
        Page_ProjectRead_: {
            /** Items */
            items: components["schemas"]["ProjectRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[RunRead] */
        Page_RunRead_: {
            /** Items */
            items: components["schemas"]["RunRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[TokenRead] */
        Page_TokenRead_: {
            /** Items */
            items: components["schemas"]["TokenRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[UserRead] */
        Page_UserRead_: {
            /** Items */
            items: components["schemas"]["UserRead"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** PoolRead */
        PoolRead: {
            /** Devices */
            devices: number;
            /** Domestic */
            domestic: boolean;
            /** Drained Nodes */
            drained_nodes: number;
            /** Free Cpu Cores */
            free_cpu_cores: number;
            /** Free Devices */
            free_devices: number;
            /** Free Units */
            free_units: number;
            /** Model */
            model: string | null;
            /** Nodes */
            nodes: number;
            /** Pool */
            pool: string;
            /** Profiles */
            profiles: {
                [key: string]: number;
            } | null;
            /** Shares */
            shares: {
                [key: string]: number;
            } | null;
            /** Site */
            site: string;
        };
        /** ProjectCreate */
        ProjectCreate: {
            /**
             * Description
             * @default
             */
            description?: string;
            /**
             * Name
             * @default
             */
            name?: string;
            /**
             * Org
             * @description Organization slug or id.
             */
            org: string;
            /** Slug */
            slug: string;
        };
        /** ProjectMemberAdd */
        ProjectMemberAdd: {
            /**
             * Role
             * @default member
             * @enum {string}
             */
            role?: "maintainer" | "member";
            /**
             * User
             * @description User name or id.
             */
            user: string;
        };
        /** ProjectMemberRead */
        ProjectMemberRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Role
             * @enum {string}
             */
            role: "maintainer" | "member";
            /** User Id */
            user_id: string;
            /** User Name */
            user_name: string;
        };
        /** ProjectPolicyRead */
        ProjectPolicyRead: {
            /** Cohort */
            cohort: string | null;
            /** Fair Share */
            fair_share: {
                [key: string]: number;
            } | null;
            /** Idle Limit Min */
            idle_limit_min: number | null;
            /** Project Id */
            project_id: string;
            /** Quota Units */
            quota_units: number | null;
            /** Ttl Default H */
            ttl_default_h: number;
            /** Ttl Max H */
            ttl_max_h: number;
            /**
             * Used Units
             * @default 0
             */
            used_units: number;
            /** Weight */
            weight: number;
            /**
             * Worker Restarts
             * @default 1
             */
            worker_restarts: number;
        };
        /** ProjectPolicyUpdate */
        ProjectPolicyUpdate: {
            /** Cohort */
            cohort?: string | null;
            /** Idle Limit Min */
            idle_limit_min?: number | null;
            /** Quota Units */
            quota_units?: number | null;
            /** Ttl Default H */
            ttl_default_h?: number | null;
            /** Ttl Max H */
            ttl_max_h?: number | null;
            /** Weight */
            weight?: number | null;
            /** Worker Restarts */
            worker_restarts?: number | null;
        };
        /** ProjectRead */
        ProjectRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Description */
            description: string;
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Org Id */
            org_id: string;
            /** Org Slug */
            org_slug: string;
            /** Slug */
            slug: string;
        };
        /** ProjectUpdate */
        ProjectUpdate: {
            /** Description */
            description?: string | null;
            /** Name */
            name?: string | null;
        };
        /** QueueInfo */
        QueueInfo: {
            /** Expected Start */
            expected_start: string | null;
            /** Position */
            position: number;
            /** Reason */
            reason: string;
        };
        /** ReproductionCreate */
        ReproductionCreate: {
            /** Hardware */
            hardware?: {
                [key: string]: unknown;
            };
            /** Lease Id */
            lease_id?: string | null;
            /** Runs */
            runs: string[];
            /**
             * Version
             * @description Default: the published one.
             */
            version?: number | null;
        };
        /** ReproductionRead */
        ReproductionRead: {
            /**
             * At
             * Format: date-time
             */
            at: string;
            /** Case Id */
            case_id: string;
            /** Hardware */
            hardware: {
                [key: string]: unknown;
            };
            /** Id */
            id: string;
            /** Lease Id */
            lease_id: string | null;
            /** Matched */
            matched: boolean;
            /** Results */
            results: {
                [key: string]: unknown;
            }[];
            /** Run Ids */
            run_ids: string[];
            /** User Id */
            user_id: string;
            /** User Name */
            user_name: string | null;
            /** Verdict */
            verdict: {
                [key: string]: unknown;
            };
            /** Version */
            version: number | null;
            /** Version Id */
            version_id: string;
        };
        /** ReservationCreate */
        ReservationCreate: {
            /** Count */
            count: number;
            /**
             * End
             * Format: date-time
             */
            end: string;
            /**
             * Note
             * @default
             */
            note?: string;
            /** Project */
            project: string;
            /** Spec */
            spec: string;
            /**
             * Start
             * Format: date-time
             */
            start: string;
        };
        /** ReservationRead */
        ReservationRead: {
            /** Count */
            count: number;
            /** Created By */
            created_by: string;
            /**
             * End At
             * Format: date-time
             */
            end_at: string;
            /**
             * Held
             * @default 0
             */
            held: number;
            /** Id */
            id: string;
            /**
             * In Use
             * @default 0
             */
            in_use: number;
            /**
             * Lent
             * @default 0
             */
            lent: number;
            /** Note */
            note: string;
            /** Project Id */
            project_id: string;
            /** Spec */
            spec: string;
            /**
             * Start At
             * Format: date-time
             */
            start_at: string;
            /** State */
            state: string;
        };
        /** ReviewCreate */
        ReviewCreate: {
            /**
             * Action
             * @enum {string}
             */
            action: "submit" | "withdraw" | "approve" | "request_changes" | "archive" | "comment";
            /**
             * Comment
             * @default
             */
            comment?: string;
        };
        /** RunCreate */
        RunCreate: {
            /**
             * Lease Id
             * @description The lease it ran on.
             */
            lease_id?: string | null;
            /** Parameters */
            parameters?: {
                [key: string]: unknown;
            };
            /**
             * Project
             * @description Project id or org/slug.
             */
            project?: string | null;
            /**
             * Provenance
             * @description Template hash, parameters, data-card hash, model hash, package versions.
             */
            provenance?: {
                [key: string]: unknown;
            };
            /**
             * Status
             * @default running
             * @enum {string}
             */
            status?: "queued" | "running" | "completed" | "failed" | "cancelled";
            /**
             * Template
             * @description Template name, e.g. finetune.
             */
            template: string;
            /** Template Sha256 */
            template_sha256?: string | null;
        };
        /** RunRead */
        RunRead: {
            /** Artifacts */
            artifacts: components["schemas"]["ArtifactRead"][] | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Ended At */
            ended_at: string | null;
            /** Error */
            error: string | null;
            /** Id */
            id: string;
            /** Lease Id */
            lease_id: string | null;
            /** Metrics */
            metrics: {
                [key: string]: unknown;
            };
            /** Notebook Sha256 */
            notebook_sha256: string | null;
            /** Parameters */
            parameters: {
                [key: string]: unknown;
            };
            /** Project Id */
            project_id: string;
            /** Provenance */
            provenance: {
                [key: string]: unknown;
            };
            /** Started At */
            started_at: string | null;
            /**
             * Status
             * @enum {string}
             */
            status: "queued" | "running" | "completed" | "failed" | "cancelled";
            /** Template */
            template: string;
            /** Template Sha256 */
            template_sha256: string | null;
            /** User Id */
            user_id: string;
        };
        /**
         * RunUpdate
         * @description Changes to a run. ``metrics`` and ``provenance`` merge into what the run has (a key set
         *     to null is removed); an ended run (completed, failed, cancelled) keeps its status.
         */
        RunUpdate: {
            /** Ended At */
            ended_at?: string | null;
            /** Error */
            error?: string | null;
            /** Metrics */
            metrics?: {
                [key: string]: unknown;
            } | null;
            /** Provenance */
            provenance?: {
                [key: string]: unknown;
            } | null;
            /** Status */
            status?: ("queued" | "running" | "completed" | "failed" | "cancelled") | null;
        };
        /**
         * TemplateNotebookCreate
         * @description ``POST /zslab/templates/{name}/notebook``: save a parameterized copy at ``path``
         *     (default ``<name>.ipynb``).
         */
        TemplateNotebookCreate: {
            /**
             * Parameters
             * @default null
             */
            parameters?: {
                [key: string]: unknown;
            } | null;
            /**
             * Path
             * @default null
             */
            path?: string | null;
        };
        /**
         * TemplateNotebookCreated
         * @description The answer to :class:`TemplateNotebookCreate` (201): where the notebook was saved.
         */
        TemplateNotebookCreated: {
            /** Parameters */
            parameters: {
                [key: string]: unknown;
            };
            /** Path */
            path: string;
            /** Template */
            template: string;
        };
        /**
         * TemplateParameterRead
         * @description One line of a template's ``parameters`` cell: ``name = default  # help``.
         */
        TemplateParameterRead: {
            /** Default */
            default: unknown;
            /**
             * Help
             * @default
             */
            help: string;
            /** Name */
            name: string;
            /**
             * Type
             * @enum {string}
             */
            type: "int" | "float" | "bool" | "str" | "list" | "dict" | "None";
        };
        /**
         * TemplateRead
         * @description ``GET /zslab/templates`` lists these: a template notebook this server can run.
         */
        TemplateRead: {
            /** Description */
            description: string;
            /** Name */
            name: string;
            /** Parameters */
            parameters: components["schemas"]["TemplateParameterRead"][];
            /** Path */
            path: string;
            /** Sha256 */
            sha256: string;
            /** Title */
            title: string;
        };
        /**
         * TemplateRunCreate
         * @description ``POST /zslab/templates/{name}/run``: run with these parameters, on a lease or not.
         */
        TemplateRunCreate: {
            /**
             * Lease Id
             * @default null
             */
            lease_id?: string | null;
            /**
             * Parameters
             * @default null
             */
            parameters?: {
                [key: string]: unknown;
            } | null;
        };
        /**
         * TemplateRunStarted
         * @description The answer to :class:`TemplateRunCreate` (202): the hub's run, which then executes.
         */
        TemplateRunStarted: {
            /** Parameters */
            parameters: {
                [key: string]: unknown;
            };
            /** Run Id */
            run_id: string;
            /** Template */
            template: string;
        };
        /** TokenCreate */
        TokenCreate: {
            /**
             * Expires In Days
             * @description Days until expiry; the hub's default when omitted.
             */
            expires_in_days?: number | null;
            /**
             * Name
             * @default api
             */
            name?: string;
            /** Scopes */
            scopes?: ("read" | "write" | "admin")[];
            /**
             * User
             * @description Create the token for this user (name or id); admins only.
             */
            user?: string | null;
        };
        /** TokenCreated */
        TokenCreated: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Expires At */
            expires_at: string | null;
            /** Id */
            id: string;
            /** Kind */
            kind: string;
            /** Last Used At */
            last_used_at: string | null;
            /** Name */
            name: string;
            /** Prefix */
            prefix: string;
            /** Revoked At */
            revoked_at: string | null;
            /** Scopes */
            scopes: ("read" | "write" | "admin")[];
            /**
             * Secret
             * @description The token itself. Shown once; null when this response is a replay.
             */
            secret: string | null;
            /** User Id */
            user_id: string;
        };
        /** TokenRead */
        TokenRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Expires At */
            expires_at: string | null;
            /** Id */
            id: string;
            /** Kind */
            kind: string;
            /** Last Used At */
            last_used_at: string | null;
            /** Name */
            name: string;
            /** Prefix */
            prefix: string;
            /** Revoked At */
            revoked_at: string | null;
            /** Scopes */
            scopes: ("read" | "write" | "admin")[];
            /** User Id */
            user_id: string;
        };
        /** UsageRow */
        UsageRow: {
            /** Co2 Kg */
            co2_kg: number;
            /** Cost */
            cost: number;
            /** Currency */
            currency: string;
            /** Device Hours */
            device_hours: number;
            /** Domestic Share */
            domestic_share: number;
            /** Domestic Slice Hours */
            domestic_slice_hours: number;
            /** Energy Kwh */
            energy_kwh: number;
            /** Green Kwh */
            green_kwh: number;
            /** Key */
            key: string;
            /** Leases */
            leases: number;
            /**
             * Name
             * @default
             */
            name: string;
            /** Net Cost */
            net_cost: number;
            /** Slice Hours */
            slice_hours: number;
            /** Subsidy */
            subsidy: number;
        };
        /** UserCreate */
        UserCreate: {
            /**
             * Display Name
             * @default
             */
            display_name?: string;
            /** Email */
            email?: string | null;
            /**
             * Name
             * @description Login handle, unique.
             */
            name: string;
            /**
             * Role
             * @default member
             * @enum {string}
             */
            role?: "admin" | "reviewer" | "member";
        };
        /** UserRead */
        UserRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Disabled */
            disabled: boolean;
            /** Display Name */
            display_name: string;
            /** Email */
            email: string | null;
            /** Id */
            id: string;
            /** Name */
            name: string;
            /**
             * Role
             * @enum {string}
             */
            role: "admin" | "reviewer" | "member";
        };
        /** UserUpdate */
        UserUpdate: {
            /** Disabled */
            disabled?: boolean | null;
            /** Display Name */
            display_name?: string | null;
            /** Email */
            email?: string | null;
            /** Role */
            role?: ("admin" | "reviewer" | "member") | null;
        };
        /** ValidationError */
        ValidationError: {
            /** Context */
            ctx?: Record<string, never>;
            /** Input */
            input?: unknown;
            /** Location */
            loc: (string | number)[];
            /** Message */
            msg: string;
            /** Error Type */
            type: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    audit_list_api_v1_audit_get: {
        parameters: {
            query?: {
                /** @description User name or id. */
                actor?: string | null;
                /** @description e.g. project.create */
                action?: string | null;
                object_id?: string | null;
                outcome?: ("success" | "denied" | "invalid" | "error") | null;
                since?: string | null;
                until?: string | null;
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_AuditEventRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_search_api_v1_cases_get: {
        parameters: {
            query?: {
                /** @description Words in titles, summaries, tags… */
                q?: string | null;
                sector?: string | null;
                task?: string | null;
                dataset?: string | null;
                /** @description Organization id or slug. */
                org?: string | null;
                license?: string | null;
                /** @description Only reproduced cases. */
                reproduced?: boolean;
                /** @description relevance, recent or metric:<name>. */
                sort?: string;
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaseSearchPage"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_publish_api_v1_cases_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CaseCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaseVersionRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_leaderboards_api_v1_cases_leaderboards_get: {
        parameters: {
            query?: {
                task?: string | null;
                dataset?: string | null;
                metric?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeaderboardRead"][];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_get_api_v1_cases__slug__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaseRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_update_api_v1_cases__slug__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CaseUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaseRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_model_card_api_v1_cases__slug__model_card_get: {
        parameters: {
            query?: {
                version?: number | null;
            };
            header?: never;
            path: {
                slug: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/markdown": unknown;
                    "text/plain": string;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_reproductions_api_v1_cases__slug__reproductions_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReproductionRead"][];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_reproduce_api_v1_cases__slug__reproductions_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReproductionCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReproductionRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_version_create_api_v1_cases__slug__versions_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CaseVersionCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaseVersionRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_version_get_api_v1_cases__slug__versions__number__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
                number: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaseVersionRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    case_review_api_v1_cases__slug__versions__number__review_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
                number: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReviewCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CaseVersionRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    estimate_get_api_v1_estimate_get: {
        parameters: {
            query: {
                /** @description e.g. h100:3g.40gb */
                spec: string;
                hours?: number;
                priority?: "interactive" | "batch";
                start?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Estimate"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    event_stream_api_v1_events_get: {
        parameters: {
            query?: {
                /** @description Only this lease's events. */
                lease?: string | null;
            };
            header?: {
                "Last-Event-ID"?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    fairshare_get_api_v1_fairshare_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: {
                            [key: string]: number;
                        };
                    };
                };
            };
        };
    };
    health_api_v1_health_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    inventory_get_api_v1_inventory_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InventoryRead"];
                };
            };
        };
    };
    inventory_put_api_v1_inventory_put: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["InventoryUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InventoryRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    lease_list_api_v1_leases_get: {
        parameters: {
            query?: {
                /** @description e.g. granted, queued, or 'live' */
                state?: string | null;
                /** @description Project id. */
                project?: string | null;
                /** @description Only leases you requested. */
                mine?: boolean;
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_LeaseRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    lease_create_api_v1_leases_post: {
        parameters: {
            query?: never;
            header?: {
                "Idempotency-Key"?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LeaseCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeaseRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    lease_get_api_v1_leases__lease_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                lease_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeaseRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    lease_events_api_v1_leases__lease_id__events_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                lease_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeaseEventRead"][];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    lease_heartbeat_api_v1_leases__lease_id__heartbeat_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                lease_id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["HeartbeatCreate"] | null;
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HeartbeatRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    lease_release_api_v1_leases__lease_id__release_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                lease_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeaseRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    lease_renew_api_v1_leases__lease_id__renew_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                lease_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LeaseRenew"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LeaseRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    me_get_api_v1_me_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Me"];
                };
            };
        };
    };
    node_drain_api_v1_nodes__node__drain_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                node: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DrainUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    org_list_api_v1_orgs_get: {
        parameters: {
            query?: {
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_OrgRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    org_create_api_v1_orgs_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["OrgCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrgRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    org_get_api_v1_orgs__org__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrgRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    org_member_list_api_v1_orgs__org__members_get: {
        parameters: {
            query?: {
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path: {
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_OrgMemberRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    org_member_put_api_v1_orgs__org__members_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                org: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["OrgMemberAdd"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrgMemberRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    org_member_remove_api_v1_orgs__org__members__user__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                org: string;
                user: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    org_quota_put_api_v1_orgs__org__quota_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                org: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["OrgQuotaUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    pool_list_api_v1_pools_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PoolRead"][];
                };
            };
        };
    };
    problem_list_api_v1_problems_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    }[];
                };
            };
        };
    };
    problem_describe_api_v1_problems__slug__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                slug: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_list_api_v1_projects_get: {
        parameters: {
            query?: {
                /** @description Only this organization's projects. */
                org?: string | null;
                /** @description Only the project with this slug. */
                slug?: string | null;
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_ProjectRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_create_api_v1_projects_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProjectCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_get_api_v1_projects__project__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                project: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_update_api_v1_projects__project__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                project: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProjectUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_member_list_api_v1_projects__project__members_get: {
        parameters: {
            query?: {
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path: {
                project: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_ProjectMemberRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_member_put_api_v1_projects__project__members_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                project: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProjectMemberAdd"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectMemberRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_member_remove_api_v1_projects__project__members__user__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                project: string;
                user: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_policy_get_api_v1_projects__project__policy_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                project: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectPolicyRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    project_policy_put_api_v1_projects__project__policy_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                project: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProjectPolicyUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProjectPolicyRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    reservation_list_api_v1_reservations_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReservationRead"][];
                };
            };
        };
    };
    reservation_create_api_v1_reservations_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReservationCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReservationRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    reservation_cancel_api_v1_reservations__reservation_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                reservation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReservationRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    run_list_api_v1_runs_get: {
        parameters: {
            query?: {
                /** @description Only runs of this template. */
                template?: string | null;
                /** @description Only runs in this status. */
                status?: ("queued" | "running" | "completed" | "failed" | "cancelled") | null;
                /** @description Project id or org/slug. */
                project?: string | null;
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_RunRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    run_create_api_v1_runs_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RunCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    run_get_api_v1_runs__run_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                run_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    run_update_api_v1_runs__run_id__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                run_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RunUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    run_artifact_list_api_v1_runs__run_id__artifacts_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                run_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ArtifactRead"][];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    run_artifact_get_api_v1_runs__run_id__artifacts__name__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                run_id: string;
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    run_artifact_put_api_v1_runs__run_id__artifacts__name__put: {
        parameters: {
            query?: never;
            header?: {
                "content-type"?: string | null;
                "content-length"?: number | null;
                /** @description sha256 of the body; a damaged upload is refused. */
                "x-content-sha256"?: string | null;
            };
            path: {
                run_id: string;
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ArtifactRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    token_list_api_v1_tokens_get: {
        parameters: {
            query?: {
                /** @description Name/id, or * for all (admins). */
                user?: string | null;
                include_revoked?: boolean;
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_TokenRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    token_create_api_v1_tokens_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TokenCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenCreated"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    token_revoke_api_v1_tokens__token_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                token_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    usage_get_api_v1_usage_get: {
        parameters: {
            query?: {
                group_by?: "project" | "user" | "org" | "model" | "pool";
                since?: string | null;
                until?: string | null;
                /** @description csv: a spreadsheet */
                format?: "json" | "csv";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageRow"][];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    user_list_api_v1_users_get: {
        parameters: {
            query?: {
                /** @description Items per page. */
                limit?: number;
                /** @description next_cursor of the previous page. */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_UserRead_"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    user_create_api_v1_users_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    user_get_api_v1_users__user__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    user_update_api_v1_users__user__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserRead"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
}
