//! The project that ships in `models/`: the Uber star schema, as the browser runs it
//! before a user edits it (the Silver pipelines in `models/silver/` are
//! [`crate::silver::BUNDLED`]).

/// The files of `models/` that dbt reads: path from the project root, text.
pub const BUNDLED: [(&str, &str); 26] = [
    (
        "dbt_project.yml",
        include_str!("../../../models/dbt_project.yml"),
    ),
    (
        "macros/generate_surrogate_key.sql",
        include_str!("../../../models/macros/generate_surrogate_key.sql"),
    ),
    (
        "models/intermediate/_intermediate.yml",
        include_str!("../../../models/models/intermediate/_intermediate.yml"),
    ),
    (
        "models/intermediate/int_revenue_payments.sql",
        include_str!("../../../models/models/intermediate/int_revenue_payments.sql"),
    ),
    (
        "models/marts/_marts.yml",
        include_str!("../../../models/models/marts/_marts.yml"),
    ),
    (
        "models/marts/agg_daily_revenue.sql",
        include_str!("../../../models/models/marts/agg_daily_revenue.sql"),
    ),
    (
        "models/marts/agg_driver_utilisation.sql",
        include_str!("../../../models/models/marts/agg_driver_utilisation.sql"),
    ),
    (
        "models/marts/dim_customer.sql",
        include_str!("../../../models/models/marts/dim_customer.sql"),
    ),
    (
        "models/marts/dim_date.sql",
        include_str!("../../../models/models/marts/dim_date.sql"),
    ),
    (
        "models/marts/dim_driver.sql",
        include_str!("../../../models/models/marts/dim_driver.sql"),
    ),
    (
        "models/marts/dim_location.sql",
        include_str!("../../../models/models/marts/dim_location.sql"),
    ),
    (
        "models/marts/dim_payment_method.sql",
        include_str!("../../../models/models/marts/dim_payment_method.sql"),
    ),
    (
        "models/marts/dim_vehicle.sql",
        include_str!("../../../models/models/marts/dim_vehicle.sql"),
    ),
    (
        "models/marts/fact_payments.sql",
        include_str!("../../../models/models/marts/fact_payments.sql"),
    ),
    (
        "models/marts/fact_trips.sql",
        include_str!("../../../models/models/marts/fact_trips.sql"),
    ),
    (
        "models/staging/_sources.yml",
        include_str!("../../../models/models/staging/_sources.yml"),
    ),
    (
        "models/staging/_staging.yml",
        include_str!("../../../models/models/staging/_staging.yml"),
    ),
    (
        "models/staging/stg_customers.sql",
        include_str!("../../../models/models/staging/stg_customers.sql"),
    ),
    (
        "models/staging/stg_drivers.sql",
        include_str!("../../../models/models/staging/stg_drivers.sql"),
    ),
    (
        "models/staging/stg_locations.sql",
        include_str!("../../../models/models/staging/stg_locations.sql"),
    ),
    (
        "models/staging/stg_payments.sql",
        include_str!("../../../models/models/staging/stg_payments.sql"),
    ),
    (
        "models/staging/stg_trips.sql",
        include_str!("../../../models/models/staging/stg_trips.sql"),
    ),
    (
        "models/staging/stg_vehicles.sql",
        include_str!("../../../models/models/staging/stg_vehicles.sql"),
    ),
    (
        "snapshots/customers_snapshot.yml",
        include_str!("../../../models/snapshots/customers_snapshot.yml"),
    ),
    (
        "snapshots/drivers_snapshot.sql",
        include_str!("../../../models/snapshots/drivers_snapshot.sql"),
    ),
    (
        "tests/assert_one_current_version_per_customer.sql",
        include_str!("../../../models/tests/assert_one_current_version_per_customer.sql"),
    ),
];

/// The bundled files as owned pairs, ready for [`super::Project::parse`].
pub fn bundled_project() -> Vec<(String, String)> {
    BUNDLED
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// Every `.sql` and `.yml` under `dir`, from `root`, skipping `silver/`.
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read models/") {
            let path = entry.expect("entry").path();
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                if relative != "silver" {
                    walk(root, &path, out);
                }
            } else if relative.ends_with(".sql") || relative.ends_with(".yml") {
                out.push(relative);
            }
        }
    }

    #[test]
    fn the_bundle_holds_every_file_of_models() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let bundled: Vec<String> = BUNDLED.iter().map(|(path, _)| (*path).to_owned()).collect();
        assert_eq!(
            bundled, on_disk,
            "update models/bundled.rs when models/ changes"
        );
    }
}
