//! What each layer must hold after each batch, worked out from the generated rows
//! themselves: the generator knows the truth, the pipeline must recover it.
//!
//! The rules are those of `sample_data/README.md`: Bronze keeps every row of every
//! new file (a file whose bytes were already ingested is skipped); Silver keeps one row
//! per key (the latest `updated_at`), applies the customers' deletion marker and
//! quarantines malformed rows; Gold's SCD2 dimensions add a version per change
//! (dbt's timestamp strategy, `hard_deletes: new_record`).

use std::collections::{BTreeMap, BTreeSet};

use super::batches::{FilePlan, Plan};
use super::entities::DAY;
use super::reference::ZONES;
use super::ENTITIES;

/// One table's expected row count after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedCounts {
    /// The table, as `<layer>/<name>`.
    pub table: String,
    /// Its rows after batch 1, 2, ….
    pub after_batch: Vec<usize>,
}

/// The days of `dim_date`: every day of 2026, the year the data covers.
pub const DIM_DATE_DAYS: usize = 365;

struct Trip {
    updated_at: i64,
    completed: bool,
    driver: i64,
    pickup_day: i64,
    city: &'static str,
}

struct Payment {
    trip: i64,
    method: String,
    counts_as_revenue: bool,
    paid_day: i64,
}

/// Versions of an SCD2 dimension, as a dbt snapshot with `hard_deletes: new_record`
/// builds them.
#[derive(Default)]
struct Snapshot {
    /// The current version's `updated_at`, or `None` when the current one is a deletion.
    current: BTreeMap<i64, Option<i64>>,
    versions: usize,
}

impl Snapshot {
    fn run(&mut self, source: &BTreeMap<i64, i64>) {
        for (id, updated_at) in source {
            match self.current.get(id) {
                Some(Some(seen)) if seen >= updated_at => continue,
                _ => {
                    self.current.insert(*id, Some(*updated_at));
                    self.versions += 1;
                }
            }
        }
        for (id, current) in self.current.iter_mut() {
            if current.is_some() && !source.contains_key(id) {
                *current = None;
                self.versions += 1;
            }
        }
    }
}

#[derive(Default)]
struct Warehouse {
    bronze: BTreeMap<&'static str, usize>,
    customers: BTreeMap<i64, i64>,
    drivers: BTreeMap<i64, i64>,
    vehicles: BTreeMap<i64, i64>,
    locations: BTreeSet<i64>,
    trips: BTreeMap<i64, Trip>,
    payments: BTreeMap<i64, Payment>,
    quarantined_trips: usize,
    customer_snapshot: Snapshot,
    driver_snapshot: Snapshot,
}

/// Keeps the row when it is new or at least as recent as the one held.
fn upsert<T>(held: &mut BTreeMap<i64, T>, id: i64, row: T, updated_at: impl Fn(&T) -> i64) {
    let newer = held
        .get(&id)
        .is_none_or(|current| updated_at(&row) >= updated_at(current));
    if newer {
        held.insert(id, row);
    }
}

impl Warehouse {
    fn ingest(&mut self, file: &FilePlan) {
        if file.repeats.is_some() {
            return;
        }
        let table = &file.table;
        *self.bronze.entry(file.entity).or_default() += table.rows();
        for row in 0..table.rows() {
            if file.malformed.iter().any(|(at, _)| *at == row) {
                if file.entity == "trips" {
                    self.quarantined_trips += 1;
                }
                continue;
            }
            let updated_at = table.time("updated_at", row).unwrap_or_default();
            match file.entity {
                "customers" => {
                    let id = table.int("customer_id", row).unwrap_or_default();
                    let newer = self
                        .customers
                        .get(&id)
                        .is_none_or(|held| updated_at >= *held);
                    if table.flag("is_deleted", row) == Some(true) {
                        if newer {
                            self.customers.remove(&id);
                        }
                    } else if newer {
                        self.customers.insert(id, updated_at);
                    }
                }
                "drivers" => {
                    let id = table.int("driver_id", row).unwrap_or_default();
                    upsert(&mut self.drivers, id, updated_at, |at| *at);
                }
                "vehicles" => {
                    let id = table.int("vehicle_id", row).unwrap_or_default();
                    upsert(&mut self.vehicles, id, updated_at, |at| *at);
                }
                "locations" => {
                    self.locations
                        .insert(table.int("location_id", row).unwrap_or_default());
                }
                "trips" => {
                    let id = table.int("trip_id", row).unwrap_or_default();
                    let zone = table.int("pickup_location_id", row).unwrap_or(1);
                    let trip = Trip {
                        updated_at,
                        completed: table.text("status", row) == Some("completed"),
                        driver: table.int("driver_id", row).unwrap_or_default(),
                        pickup_day: table
                            .time("pickup_at", row)
                            .unwrap_or_default()
                            .div_euclid(DAY),
                        city: ZONES
                            .get((zone - 1).max(0) as usize)
                            .map_or("", |zone| zone.city),
                    };
                    upsert(&mut self.trips, id, trip, |trip| trip.updated_at);
                }
                "payments" => {
                    let id = table.int("payment_id", row).unwrap_or_default();
                    let payment = Payment {
                        trip: table.int("trip_id", row).unwrap_or_default(),
                        method: table.text("method", row).unwrap_or_default().to_owned(),
                        counts_as_revenue: table.text("status", row) != Some("failed"),
                        paid_day: table
                            .time("paid_at", row)
                            .unwrap_or_default()
                            .div_euclid(DAY),
                    };
                    self.payments.insert(id, payment);
                }
                _ => {}
            }
        }
    }

    fn counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = ENTITIES
            .iter()
            .map(|entity| {
                (
                    format!("bronze/{entity}"),
                    self.bronze.get(entity).copied().unwrap_or(0),
                )
            })
            .collect();
        let silver = [
            ("customers", self.customers.len()),
            ("drivers", self.drivers.len()),
            ("vehicles", self.vehicles.len()),
            ("locations", self.locations.len()),
            ("payments", self.payments.len()),
            ("trips", self.trips.len()),
            ("trips_quarantine", self.quarantined_trips),
        ];
        counts.extend(
            silver
                .iter()
                .map(|(name, rows)| (format!("silver/{name}"), *rows)),
        );
        let methods: BTreeSet<&str> = self.payments.values().map(|p| p.method.as_str()).collect();
        let revenue: BTreeSet<(i64, &str, &str)> = self
            .payments
            .values()
            .filter(|payment| payment.counts_as_revenue)
            .filter_map(|payment| {
                let trip = self.trips.get(&payment.trip)?;
                Some((payment.paid_day, trip.city, payment.method.as_str()))
            })
            .collect();
        let utilisation: BTreeSet<(i64, i64)> = self
            .trips
            .values()
            .filter(|trip| trip.completed)
            .map(|trip| (trip.driver, trip.pickup_day))
            .collect();
        let gold = [
            ("dim_customer", self.customer_snapshot.versions),
            ("dim_driver", self.driver_snapshot.versions),
            ("dim_vehicle", self.vehicles.len()),
            ("dim_location", self.locations.len()),
            ("dim_payment_method", methods.len()),
            ("dim_date", DIM_DATE_DAYS),
            ("fact_trips", self.trips.len()),
            ("fact_payments", self.payments.len()),
            ("agg_daily_revenue", revenue.len()),
            ("agg_driver_utilisation", utilisation.len()),
        ];
        counts.extend(
            gold.iter()
                .map(|(name, rows)| (format!("gold/{name}"), *rows)),
        );
        counts
    }
}

/// The expected row count of every table after each batch of `plan`.
pub(crate) fn expected_counts(plan: &Plan) -> Vec<ExpectedCounts> {
    let mut warehouse = Warehouse::default();
    let mut expected: Vec<ExpectedCounts> = Vec::new();
    for batch in &plan.batches {
        for file in batch {
            warehouse.ingest(file);
        }
        let Warehouse {
            customers,
            drivers,
            customer_snapshot,
            driver_snapshot,
            ..
        } = &mut warehouse;
        customer_snapshot.run(customers);
        driver_snapshot.run(drivers);
        for (index, (table, rows)) in warehouse.counts().into_iter().enumerate() {
            match expected.get_mut(index) {
                Some(counts) => counts.after_batch.push(rows),
                None => expected.push(ExpectedCounts {
                    table,
                    after_batch: vec![rows],
                }),
            }
        }
    }
    expected
}
