//! The landing batches: batch 1 is the initial load; each later batch carries the edge
//! cases of BRIEF §5 (updates, duplicates, a late trip, malformed rows, schema drift, a
//! deletion, an orphan, a re-dropped file, a restored record).

use std::ops::Range;

use super::entities::{email, phone, Dataset, MINUTE, START_MICROS};
use super::reference::{CITIES, COLORS, EMAIL_DOMAINS};
use super::rng::Rng;
use super::table::{Cell, Malformation, Table, TextStyle};
use super::{EdgeCase, EdgeCaseKind, SampleFormat, SampleSpec, ENTITIES};

/// One file to write.
pub(crate) struct FilePlan {
    /// Its path below the output folder.
    pub path: String,
    /// The entity it holds.
    pub entity: &'static str,
    /// Csv, NdJson or Parquet.
    pub format: SampleFormat,
    /// Its rows.
    pub table: Table,
    /// How text formats spell values.
    pub style: TextStyle,
    /// Rows of `table` written broken.
    pub malformed: Vec<(usize, Malformation)>,
    /// The earlier file whose bytes this one repeats.
    pub repeats: Option<String>,
}

/// Every file of every batch, and the edge cases among them.
pub(crate) struct Plan {
    pub batches: Vec<Vec<FilePlan>>,
    pub edge_cases: Vec<EdgeCase>,
}

/// The trips of each batch: the first batch holds half of them (the initial load), the
/// others split the rest equally, in time order.
pub(crate) fn trip_ranges(trips: usize, batches: usize) -> Vec<Range<usize>> {
    if batches <= 1 {
        return std::iter::once(0..trips).collect();
    }
    let first = trips / 2;
    let rest = trips - first;
    (0..batches)
        .map(|batch| match batch {
            0 => 0..first,
            _ => first + rest * (batch - 1) / (batches - 1)..first + rest * batch / (batches - 1),
        })
        .collect()
}

fn base_format(spec: &SampleSpec, entity: usize, batch: usize) -> SampleFormat {
    match spec.format {
        // Batch 2's drivers carry legacy timestamps, which only text can hold.
        SampleFormat::Mixed if entity == 1 && batch == 1 => SampleFormat::Csv,
        SampleFormat::Mixed => [
            SampleFormat::Csv,
            SampleFormat::NdJson,
            SampleFormat::Parquet,
        ][(entity + batch) % 3],
        fixed => fixed,
    }
}

pub(crate) fn extension(format: SampleFormat) -> &'static str {
    match format {
        SampleFormat::Csv => "csv",
        SampleFormat::NdJson => "ndjson",
        SampleFormat::Parquet | SampleFormat::Mixed => "parquet",
    }
}

/// `count` distinct indices below `len`, sorted.
fn choose(rng: &mut Rng, len: usize, count: usize) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..len).collect();
    let count = count.min(len);
    for slot in 0..count {
        let other = rng.range(slot as i64, len as i64) as usize;
        indices.swap(slot, other);
    }
    indices.truncate(count);
    indices.sort_unstable();
    indices
}

fn ids(table: &Table, column: &str, rows: impl IntoIterator<Item = usize>) -> String {
    rows.into_iter()
        .filter_map(|row| table.int(column, row))
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

struct Planner<'a> {
    spec: &'a SampleSpec,
    data: &'a Dataset,
    ranges: Vec<Range<usize>>,
    rng: Rng,
    edge_cases: Vec<EdgeCase>,
}

impl Planner<'_> {
    fn path(&self, batch: usize, entity: &str, format: SampleFormat) -> String {
        let name = format!("{entity}.{}", extension(format));
        match self.spec.batches {
            Some(_) => format!("batch_{:03}/{name}", batch + 1),
            None => name,
        }
    }

    fn pickup(&self, trip: usize) -> i64 {
        self.data
            .trips
            .time("pickup_at", trip)
            .unwrap_or(START_MICROS)
    }

    /// A random instant between the first and the last pickup of `batch`.
    fn time_in(&mut self, batch: usize) -> i64 {
        let range = &self.ranges[batch];
        let (first, last) = (
            self.pickup(range.start),
            self.pickup(range.end.saturating_sub(1)),
        );
        self.rng.range(first, last + 1)
    }

    fn completed(&self, trip: usize) -> bool {
        self.data.trips.text("status", trip) == Some("completed")
    }

    fn payments_of(&self, trips: &Range<usize>, except: &[usize]) -> Vec<usize> {
        self.data
            .payment_trip
            .iter()
            .enumerate()
            .filter(|(_, trip)| trips.contains(*trip) && !except.contains(*trip))
            .map(|(row, _)| row)
            .collect()
    }

    fn payments_of_trip(&self, trip: usize) -> Vec<usize> {
        self.payments_of(&(trip..trip + 1), &[])
    }

    fn note(&mut self, kind: EdgeCaseKind, batch: usize, file: &str, detail: String) {
        self.edge_cases.push(EdgeCase {
            kind,
            batch: batch + 1,
            file: file.to_owned(),
            detail,
        });
    }

    fn file(&self, batch: usize, entity: usize, table: Table) -> FilePlan {
        let format = base_format(self.spec, entity, batch);
        FilePlan {
            path: self.path(batch, ENTITIES[entity], format),
            entity: ENTITIES[entity],
            format,
            table,
            style: TextStyle::default(),
            malformed: Vec::new(),
            repeats: None,
        }
    }

    /// Trips of `batch`, with the surge column from batch 3 on.
    fn trips_table(&self, batch: usize, rows: &[usize]) -> Table {
        let table = self.data.trips.take(rows);
        if batch < 2 {
            table.without("surge_multiplier")
        } else {
            table
        }
    }
}

/// Plans every batch of `spec` from the generated `data`.
pub(crate) fn plan(spec: &SampleSpec, data: &Dataset) -> Plan {
    let batches = spec.batches.unwrap_or(1);
    let mut planner = Planner {
        spec,
        data,
        ranges: trip_ranges(data.trips.rows(), batches),
        rng: Rng::new(spec.seed).fork(10),
        edge_cases: Vec::new(),
    };
    let planner = &mut planner;
    if batches == 1 {
        let trips: Vec<usize> = (0..data.trips.rows()).collect();
        let payments: Vec<usize> = (0..data.payments.rows()).collect();
        let tables = [
            data.customers.clone(),
            data.drivers.clone(),
            data.vehicles.clone(),
            data.locations.clone(),
            data.payments.take(&payments),
            planner.trips_table(0, &trips),
        ];
        let files = tables
            .into_iter()
            .enumerate()
            .map(|(entity, table)| planner.file(0, entity, table))
            .collect();
        return Plan {
            batches: vec![files],
            edge_cases: Vec::new(),
        };
    }

    // Chosen up front: batch 1 must hold back the late trip and the first version of
    // the corrected one.
    let customers_n = data.customers.rows();
    let updated_customers = {
        let count = (customers_n / 30).max(3);
        choose(&mut planner.rng, customers_n, count)
    };
    let first_batch = planner.ranges[0].clone();
    let late_trip = first_batch.clone().rev().find(|&trip| {
        let customer = data.trips.int("customer_id", trip).unwrap_or(0) as usize;
        planner.completed(trip) && updated_customers.contains(&customer.saturating_sub(1))
    });
    let corrected_trip = first_batch.clone().rev().find(|&trip| {
        Some(trip) != late_trip
            && planner.completed(trip)
            && data.trips.decimal("tip_amount", trip).unwrap_or(0.0) > 0.0
    });
    let held_back: Vec<usize> = late_trip.into_iter().chain(corrected_trip).collect();
    let later_ranges: Vec<Range<usize>> = planner.ranges[2..].to_vec();
    let deleted_customer = if batches >= 3 {
        let start = planner.rng.range(0, customers_n as i64) as usize;
        (0..customers_n)
            .map(|offset| (start + offset) % customers_n)
            .find(|&customer| {
                let id = customer as i64 + 1;
                let rides = |range: &Range<usize>| {
                    range
                        .clone()
                        .any(|trip| data.trips.int("customer_id", trip) == Some(id))
                };
                !updated_customers.contains(&customer)
                    && rides(&first_batch)
                    && !later_ranges.iter().any(rides)
            })
    } else {
        None
    };

    let mut plans = Vec::with_capacity(batches);
    plans.push(first_load(planner, late_trip, corrected_trip, &held_back));
    plans.push(second_batch(
        planner,
        &updated_customers,
        late_trip,
        corrected_trip,
    ));
    for batch in 2..batches {
        let customers = match (batch, deleted_customer) {
            (2, Some(customer)) => deletion(planner, customer, true),
            (3, Some(customer)) => deletion(planner, customer, false),
            _ => data.customers.take(&[]),
        };
        let trip_rows: Vec<usize> = planner.ranges[batch].clone().collect();
        let payment_rows = planner.payments_of(&planner.ranges[batch].clone(), &[]);
        let mut files = vec![
            planner.file(batch, 0, customers),
            planner.file(batch, 1, data.drivers.take(&[])),
            planner.file(batch, 2, data.vehicles.take(&[])),
            planner.file(batch, 3, data.locations.take(&[])),
            planner.file(batch, 4, data.payments.take(&payment_rows)),
            planner.file(batch, 5, planner.trips_table(batch, &trip_rows)),
        ];
        match batch {
            2 => third_batch_cases(planner, &mut files, &plans[0], deleted_customer),
            3 => fourth_batch_cases(planner, &mut files, deleted_customer),
            _ => {}
        }
        plans.push(files);
    }
    Plan {
        batches: plans,
        edge_cases: std::mem::take(&mut planner.edge_cases),
    }
}

fn first_load(
    planner: &mut Planner<'_>,
    late_trip: Option<usize>,
    corrected_trip: Option<usize>,
    held_back: &[usize],
) -> Vec<FilePlan> {
    let data = planner.data;
    let range = planner.ranges[0].clone();
    let trip_rows: Vec<usize> = range.clone().filter(|t| Some(*t) != late_trip).collect();
    let mut trips = planner.trips_table(0, &trip_rows);
    if let Some(corrected) = corrected_trip {
        // Its first version: marked cancelled by mistake, so no payment yet.
        if let Some(row) = trip_rows.iter().position(|t| *t == corrected) {
            let pickup = planner.pickup(corrected);
            trips.set("dropoff_at", row, Cell::Time(None));
            trips.set("distance_km", row, Cell::Decimal(Some(0.0)));
            trips.set("fare_amount", row, Cell::Decimal(Some(0.0)));
            trips.set("tip_amount", row, Cell::Decimal(Some(0.0)));
            trips.set("status", row, Cell::Text(Some("cancelled".to_owned())));
            trips.set("rating", row, Cell::Int(None));
            trips.set("updated_at", row, Cell::Time(Some(pickup + 3 * MINUTE)));
        }
    }
    let payments = data.payments.take(&planner.payments_of(&range, held_back));
    vec![
        planner.file(0, 0, data.customers.clone()),
        planner.file(0, 1, data.drivers.clone()),
        planner.file(0, 2, data.vehicles.clone()),
        planner.file(0, 3, data.locations.clone()),
        planner.file(0, 4, payments),
        planner.file(0, 5, trips),
    ]
}

fn second_batch(
    planner: &mut Planner<'_>,
    updated_customers: &[usize],
    late_trip: Option<usize>,
    corrected_trip: Option<usize>,
) -> Vec<FilePlan> {
    let data = planner.data;

    // Customers change email, phone or city.
    let mut customers = data.customers.take(updated_customers);
    for row in 0..customers.rows() {
        let at = planner.time_in(1);
        customers.set("updated_at", row, Cell::Time(Some(at)));
        let city = customers.text("city", row).unwrap_or("New York").to_owned();
        match planner.rng.range(0, 3) {
            0 => {
                let current = customers.text("email", row).unwrap_or_default().to_owned();
                let domains: Vec<&str> = EMAIL_DOMAINS
                    .iter()
                    .copied()
                    .filter(|domain| !current.to_lowercase().ends_with(domain))
                    .collect();
                let domain = *planner.rng.pick(&domains);
                let local = current.split('@').next().unwrap_or("rider").to_lowercase();
                customers.set("email", row, Cell::Text(Some(format!("{local}@{domain}"))));
            }
            1 => {
                let new_phone = phone(&mut planner.rng, &city);
                customers.set("phone", row, Cell::Text(Some(new_phone)));
            }
            _ => {
                let others: Vec<&str> = CITIES.iter().map(|c| c.0).filter(|c| *c != city).collect();
                let moved = (*planner.rng.pick(&others)).to_owned();
                customers.set("city", row, Cell::Text(Some(moved)));
            }
        }
    }

    // Drivers: a new rating, some a new status; exported by a legacy system.
    let drivers_n = data.drivers.rows();
    let updated_drivers = choose(&mut planner.rng, drivers_n, (drivers_n / 20).max(2));
    let mut drivers = data.drivers.take(&updated_drivers);
    for row in 0..drivers.rows() {
        let at = planner.time_in(1);
        drivers.set("updated_at", row, Cell::Time(Some(at)));
        let rating = drivers.decimal("rating", row).unwrap_or(4.5);
        let step = planner.rng.range(1, 4) as f64 / 10.0;
        let rating = if planner.rng.chance(0.5) {
            rating + step
        } else {
            rating - step
        };
        drivers.set("rating", row, Cell::Decimal(Some(rating.clamp(1.0, 5.0))));
        if planner.rng.chance(0.3) {
            let status = match drivers.text("status", row) {
                Some("active") => "inactive",
                _ => "active",
            };
            drivers.set("status", row, Cell::Text(Some(status.to_owned())));
        }
    }

    // Vehicles are repainted: a type 1 change.
    let vehicles_n = data.vehicles.rows();
    let repainted = choose(&mut planner.rng, vehicles_n, (vehicles_n / 50).max(1));
    let mut vehicles = data.vehicles.take(&repainted);
    for row in 0..vehicles.rows() {
        let at = planner.time_in(1);
        vehicles.set("updated_at", row, Cell::Time(Some(at)));
        let current = vehicles.text("color", row).unwrap_or_default().to_owned();
        let others: Vec<&str> = COLORS.iter().copied().filter(|c| *c != current).collect();
        let color = (*planner.rng.pick(&others)).to_owned();
        vehicles.set("color", row, Cell::Text(Some(color)));
    }

    // Trips: this batch's, then the late one and the corrected one, then the last rows
    // again (the exporter re-sent its last page).
    let range = planner.ranges[1].clone();
    let own: Vec<usize> = range.clone().collect();
    let duplicates = (own.len() / 100).max(2).min(own.len());
    let resent = own[own.len() - duplicates..].to_vec();
    let mut trip_rows = own.clone();
    trip_rows.extend(late_trip);
    trip_rows.extend(corrected_trip);
    trip_rows.extend(&resent);
    let mut trips = planner.trips_table(1, &trip_rows);
    let corrected_row = corrected_trip.map(|_| own.len() + usize::from(late_trip.is_some()));
    if let Some(row) = corrected_row {
        let at = planner.time_in(1);
        trips.set("updated_at", row, Cell::Time(Some(at)));
    }
    // Malformed rows: cancelled trips (no payment refers to them), not re-sent.
    let candidates: Vec<usize> = (0..own.len() - duplicates)
        .filter(|&row| !planner.completed(own[row]))
        .collect();
    let picked = choose(&mut planner.rng, candidates.len(), 3);
    let kinds = [
        Malformation::BadTimestamp("pickup_at"),
        Malformation::NonNumeric("fare_amount"),
        Malformation::Truncated,
    ];
    let malformed: Vec<(usize, Malformation)> = picked
        .iter()
        .zip(kinds)
        .map(|(&pick, kind)| (candidates[pick], kind))
        .collect();

    let mut payment_rows = planner.payments_of(&range, &[]);
    for trip in late_trip.into_iter().chain(corrected_trip) {
        payment_rows.extend(planner.payments_of_trip(trip));
    }
    let duplicated_payment = payment_rows.last().copied();
    payment_rows.extend(duplicated_payment);
    let payments = data.payments.take(&payment_rows);

    let mut files = vec![
        planner.file(1, 0, customers),
        planner.file(1, 1, drivers),
        planner.file(1, 2, vehicles),
        planner.file(1, 3, data.locations.take(&[])),
        planner.file(1, 4, payments),
        planner.file(1, 5, trips),
    ];

    let paths: Vec<String> = files.iter().map(|file| file.path.clone()).collect();
    let path = |entity: usize| paths[entity].clone();
    let customer_ids = ids(&files[0].table, "customer_id", 0..files[0].table.rows());
    planner.note(
        EdgeCaseKind::CustomerUpdates,
        1,
        &path(0),
        format!("customer_id {customer_ids}"),
    );
    let driver_ids = ids(&files[1].table, "driver_id", 0..files[1].table.rows());
    planner.note(
        EdgeCaseKind::DriverUpdates,
        1,
        &path(1),
        format!("driver_id {driver_ids}"),
    );
    if files[1].format != SampleFormat::Parquet {
        files[1].style.legacy_timestamps = true;
        planner.note(
            EdgeCaseKind::LegacyTimestamps,
            1,
            &path(1),
            "every updated_at".to_owned(),
        );
    }
    let vehicle_ids = ids(&files[2].table, "vehicle_id", 0..files[2].table.rows());
    planner.note(
        EdgeCaseKind::VehicleUpdates,
        1,
        &path(2),
        format!("vehicle_id {vehicle_ids}"),
    );
    if let Some(row) = corrected_row {
        let id = ids(&files[5].table, "trip_id", [row]);
        planner.note(
            EdgeCaseKind::TripCorrected,
            1,
            &path(5),
            format!("trip_id {id}"),
        );
    }
    if let Some(trip) = late_trip {
        let row = own.len();
        let customer = files[5].table.int("customer_id", row).unwrap_or_default();
        planner.note(
            EdgeCaseKind::LateTrip,
            1,
            &path(5),
            format!(
                "trip_id {}, picked up in batch 1's time range by customer_id {customer}, \
                 whose update in this batch comes after the pickup",
                trip + 1
            ),
        );
    }
    let resent_ids = ids(&data.trips, "trip_id", resent.iter().copied());
    let payment_id = duplicated_payment
        .and_then(|row| data.payments.int("payment_id", row))
        .map(|id| format!("; payment_id {id} in {}", path(4)))
        .unwrap_or_default();
    planner.note(
        EdgeCaseKind::ExactDuplicates,
        1,
        &path(5),
        format!("trip_id {resent_ids}{payment_id}"),
    );
    if files[5].format != SampleFormat::Parquet {
        for (row, kind) in &malformed {
            let id = ids(&files[5].table, "trip_id", [*row]);
            let case = match kind {
                Malformation::BadTimestamp(_) => EdgeCaseKind::BadTimestamp,
                Malformation::NonNumeric(_) => EdgeCaseKind::NonNumericFare,
                Malformation::Truncated => EdgeCaseKind::WrongColumnCount,
            };
            planner.note(case, 1, &path(5), format!("trip_id {id}"));
        }
        files[5].malformed = malformed;
    }
    files
}

/// The customer row that deletes (`deleted`) or restores `customer`.
fn deletion(planner: &mut Planner<'_>, customer: usize, deleted: bool) -> Table {
    let batch = if deleted { 2 } else { 3 };
    let mut table = planner.data.customers.take(&[customer]);
    let at = planner.time_in(batch);
    table.set("updated_at", 0, Cell::Time(Some(at)));
    table.set("is_deleted", 0, Cell::Bool(Some(deleted)));
    if !deleted {
        let first = table.text("first_name", 0).unwrap_or("rider").to_owned();
        let last = table.text("last_name", 0).unwrap_or("rider").to_owned();
        let address = email(&mut planner.rng, &first, &last, customer as i64 + 1001);
        table.set("email", 0, Cell::Text(Some(address)));
    }
    table
}

fn third_batch_cases(
    planner: &mut Planner<'_>,
    files: &mut [FilePlan],
    first_load: &[FilePlan],
    deleted_customer: Option<usize>,
) {
    let data = planner.data;
    let trips_path = files[5].path.clone();
    planner.note(
        EdgeCaseKind::NewColumn,
        2,
        &trips_path,
        "surge_multiplier".to_owned(),
    );
    if let Some(customer) = deleted_customer {
        let path = files[0].path.clone();
        planner.note(
            EdgeCaseKind::CustomerDeleted,
            2,
            &path,
            format!("customer_id {}", customer + 1),
        );
    }

    // The re-dropped file: batch 1's locations, byte for byte.
    let original = &first_load[3];
    let path = planner.path(2, "locations", original.format);
    planner.note(
        EdgeCaseKind::RedroppedFile,
        2,
        &path,
        format!("the same bytes as {}", original.path),
    );
    files[3] = FilePlan {
        path,
        entity: original.entity,
        format: original.format,
        table: original.table.clone(),
        style: original.style,
        malformed: Vec::new(),
        repeats: Some(original.path.clone()),
    };

    // An orphan payment, in a file whose columns come in another order.
    // An orphan payment, in a file whose columns come in another order. Its row starts
    // as a copy of another payment, to keep that payment's shape and UTC offset.
    let payments = &mut files[4];
    let with_template = match payments.table.rows() {
        0 if data.payments.rows() > 0 => Some(data.payments.take(&[0])),
        0 => None,
        rows => Some(
            payments
                .table
                .take(&(0..rows).chain([rows - 1]).collect::<Vec<_>>()),
        ),
    };
    if let Some(mut table) = with_template {
        let last = table.rows() - 1;
        let payment_id = data.payments.rows() as i64 + 1;
        let orphan_trip = orphan_trip_id(data.trips.rows());
        let at = planner.time_in(2);
        let customer = planner.rng.range(1, data.customers.rows() as i64 + 1);
        let amount = planner.rng.range(1_000, 6_000) as f64 / 100.0;
        table.set("payment_id", last, Cell::Int(Some(payment_id)));
        table.set("trip_id", last, Cell::Int(Some(orphan_trip)));
        table.set("customer_id", last, Cell::Int(Some(customer)));
        table.set("method", last, Cell::Text(Some("card".to_owned())));
        table.set("amount", last, Cell::Decimal(Some(amount)));
        table.set("status", last, Cell::Text(Some("completed".to_owned())));
        table.set("paid_at", last, Cell::Time(Some(at)));
        files[4].table = table;
        let path = files[4].path.clone();
        planner.note(
            EdgeCaseKind::OrphanPayment,
            2,
            &path,
            format!("payment_id {payment_id} for trip_id {orphan_trip}, which never exists"),
        );
    }
    let payments = &mut files[4];
    payments.table = payments.table.clone().reordered(&[
        "paid_at",
        "payment_id",
        "status",
        "amount",
        "currency",
        "method",
        "trip_id",
        "customer_id",
    ]);
    let path = payments.path.clone();
    planner.note(
        EdgeCaseKind::ReorderedColumns,
        2,
        &path,
        "paid_at, payment_id, status, amount, currency, method, trip_id, customer_id".to_owned(),
    );
}

fn fourth_batch_cases(
    planner: &mut Planner<'_>,
    files: &mut [FilePlan],
    deleted_customer: Option<usize>,
) {
    let customers = &mut files[0];
    let path = customers.path.clone();
    if let Some(customer) = deleted_customer {
        planner.note(
            EdgeCaseKind::CustomerRestored,
            3,
            &path,
            format!("customer_id {}", customer + 1),
        );
    }
    if customers.format == SampleFormat::Csv {
        customers.style.windows_export = true;
        planner.note(
            EdgeCaseKind::WindowsExport,
            3,
            &path,
            "UTF-8 byte-order mark and CRLF line ends".to_owned(),
        );
    }
}

/// A trip id no generated trip has: all nines, one digit longer than the trip count.
pub(crate) fn orphan_trip_id(trips: usize) -> i64 {
    let digits = trips.to_string().len() as u32 + 1;
    10_i64.pow(digits) - 1
}
