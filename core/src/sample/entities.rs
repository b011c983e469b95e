//! The six entities, generated together so that every foreign key points at a row
//! that exists.

use super::reference::{
    CITIES, COLORS, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, MODELS, RIDE_TYPES, ZONES,
};
use super::rng::Rng;
use super::table::{Table, Values};

/// 2026-01-05T00:00:00Z, the first day of the data, in microseconds.
pub(crate) const START_MICROS: i64 = 1_767_571_200_000_000;
pub(crate) const MINUTE: i64 = 60_000_000;
pub(crate) const DAY: i64 = 24 * 60 * MINUTE;

/// Every entity of one generated dataset.
pub(crate) struct Dataset {
    pub customers: Table,
    pub drivers: Table,
    pub vehicles: Table,
    pub locations: Table,
    pub payments: Table,
    pub trips: Table,
    /// For each payment row, the index of its trip in `trips`.
    pub payment_trip: Vec<usize>,
}

fn city_offset(city: &str) -> i32 {
    CITIES
        .iter()
        .find(|(name, _, _)| *name == city)
        .map_or(0, |c| c.2)
}

fn zones_of(city: &str) -> Vec<usize> {
    ZONES
        .iter()
        .enumerate()
        .filter(|(_, z)| z.city == city)
        .map(|(i, _)| i)
        .collect()
}

pub(crate) fn phone(rng: &mut Rng, city: &str) -> String {
    let area = match city {
        "Chicago" => *rng.pick(&[312, 773, 872]),
        "San Francisco" => *rng.pick(&[415, 628]),
        _ => *rng.pick(&[212, 646, 718, 917]),
    };
    let exchange = rng.range(200, 999);
    let line = rng.range(0, 10_000);
    // Sources write phones in many shapes; Silver standardises them to E.164.
    match rng.range(0, 4) {
        0 => format!("+1 {area}-{exchange}-{line:04}"),
        1 => format!("({area}) {exchange}-{line:04}"),
        2 => format!("{area}.{exchange}.{line:04}"),
        _ => format!("1{area}{exchange}{line:04}"),
    }
}

pub(crate) fn email(rng: &mut Rng, first: &str, last: &str, id: i64) -> String {
    let clean = |name: &str| -> String {
        name.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    let local = format!("{}.{}{}", clean(first), clean(last), id % 97);
    let domain = rng.pick(EMAIL_DOMAINS);
    // A few arrive in capitals; Silver lower-cases them.
    if rng.chance(0.1) {
        format!("{local}@{domain}").to_uppercase()
    } else {
        format!("{local}@{domain}").to_lowercase()
    }
}

pub(crate) fn pick_city(rng: &mut Rng) -> &'static str {
    let weights: Vec<f64> = CITIES.iter().map(|c| c.1).collect();
    CITIES[rng.weighted(&weights)].0
}

pub(crate) fn generate(trips: usize, seed: u64) -> Dataset {
    let root = Rng::new(seed);
    let customers_n = (trips / 8).max(50);
    let drivers_n = (trips / 40).max(20);

    // Locations: the reference zones.
    let locations = Table {
        columns: vec![
            (
                "location_id",
                Values::Int((1..=ZONES.len() as i64).map(Some).collect()),
            ),
            (
                "zone",
                Values::Text(ZONES.iter().map(|z| Some(z.zone.to_owned())).collect()),
            ),
            (
                "borough",
                Values::Text(ZONES.iter().map(|z| Some(z.borough.to_owned())).collect()),
            ),
            (
                "city",
                Values::Text(ZONES.iter().map(|z| Some(z.city.to_owned())).collect()),
            ),
            (
                "service_zone",
                Values::Text(
                    ZONES
                        .iter()
                        .map(|z| Some(z.service_zone.to_owned()))
                        .collect(),
                ),
            ),
            (
                "latitude",
                Values::Decimal(ZONES.iter().map(|z| Some(z.latitude)).collect(), 4),
            ),
            (
                "longitude",
                Values::Decimal(ZONES.iter().map(|z| Some(z.longitude)).collect(), 4),
            ),
        ],
    };

    // Customers.
    let mut rng = root.fork(1);
    let mut customer_city = Vec::with_capacity(customers_n);
    let (mut first, mut last, mut emails, mut phones, mut cities, mut signups, mut updated) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for id in 1..=customers_n as i64 {
        let city = pick_city(&mut rng);
        let given = *rng.pick(FIRST_NAMES);
        let family = *rng.pick(LAST_NAMES);
        let signup_day = -rng.range(1, 3 * 365) as i32;
        let start_days = (START_MICROS / DAY) as i32;
        customer_city.push(city);
        emails.push(Some(email(&mut rng, given, family, id)));
        phones.push(Some(phone(&mut rng, city)));
        first.push(Some(given.to_owned()));
        last.push(Some(family.to_owned()));
        cities.push(Some(city.to_owned()));
        signups.push(Some(start_days + signup_day));
        updated.push(Some(
            START_MICROS + i64::from(signup_day) * DAY + rng.range(0, DAY),
        ));
    }
    let customer_offsets: Vec<i32> = customer_city.iter().map(|c| city_offset(c)).collect();
    let customers = Table {
        columns: vec![
            (
                "customer_id",
                Values::Int((1..=customers_n as i64).map(Some).collect()),
            ),
            ("first_name", Values::Text(first)),
            ("last_name", Values::Text(last)),
            ("email", Values::Text(emails)),
            ("phone", Values::Text(phones)),
            ("city", Values::Text(cities)),
            ("signup_date", Values::Date(signups)),
            ("updated_at", Values::Time(updated, customer_offsets)),
            // The source's deletion marker: true on the row that deletes the customer.
            ("is_deleted", Values::Bool(vec![Some(false); customers_n])),
        ],
    };

    // Vehicles, one per driver.
    let mut rng = root.fork(2);
    let mut vehicle_type = Vec::with_capacity(drivers_n);
    let mut vehicle_columns: [Vec<Option<String>>; 4] = Default::default();
    let (mut years, mut capacity, mut vehicle_updated) = (vec![], vec![], vec![]);
    for _ in 0..drivers_n {
        let weights: Vec<f64> = RIDE_TYPES.iter().map(|r| r.1).collect();
        let ride = &RIDE_TYPES[rng.weighted(&weights)];
        let models = MODELS
            .iter()
            .find(|(kind, _)| *kind == ride.0)
            .map_or(&[][..], |m| m.1);
        let (make, model) = *rng.pick(models);
        vehicle_type.push(ride.0);
        vehicle_columns[0].push(Some(make.to_owned()));
        vehicle_columns[1].push(Some(model.to_owned()));
        vehicle_columns[2].push(Some((*rng.pick(COLORS)).to_owned()));
        vehicle_columns[3].push(Some(format!("T{:06}C", rng.range(0, 1_000_000))));
        years.push(Some(rng.range(2016, 2026)));
        capacity.push(Some(ride.2));
        vehicle_updated.push(Some(START_MICROS - rng.range(30, 400) * DAY));
    }
    let [makes, models, colors, plates] = vehicle_columns;
    let vehicles = Table {
        columns: vec![
            (
                "vehicle_id",
                Values::Int((1..=drivers_n as i64).map(Some).collect()),
            ),
            ("make", Values::Text(makes)),
            ("model", Values::Text(models)),
            ("year", Values::Int(years)),
            ("color", Values::Text(colors)),
            ("license_plate", Values::Text(plates)),
            (
                "vehicle_type",
                Values::Text(vehicle_type.iter().map(|t| Some((*t).to_owned())).collect()),
            ),
            ("capacity", Values::Int(capacity)),
            (
                "updated_at",
                Values::Time(vehicle_updated, vec![0; drivers_n]),
            ),
        ],
    };

    // Drivers, each with one vehicle.
    let mut rng = root.fork(3);
    let mut driver_city = Vec::with_capacity(drivers_n);
    let (
        mut first,
        mut last,
        mut phones,
        mut licenses,
        mut ratings,
        mut cities,
        mut statuses,
        mut updated,
    ) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for _ in 0..drivers_n {
        let city = pick_city(&mut rng);
        driver_city.push(city);
        first.push(Some((*rng.pick(FIRST_NAMES)).to_owned()));
        last.push(Some((*rng.pick(LAST_NAMES)).to_owned()));
        phones.push(Some(phone(&mut rng, city)));
        let state = match city {
            "Chicago" => "IL",
            "San Francisco" => "CA",
            _ => "NY",
        };
        licenses.push(Some(format!("{state}-D{:07}", rng.range(0, 10_000_000))));
        ratings.push(Some(4.2 + rng.unit() * 0.8));
        cities.push(Some(city.to_owned()));
        let status = ["active", "active", "active", "active", "inactive"][rng.range(0, 5) as usize];
        statuses.push(Some(status.to_owned()));
        updated.push(Some(START_MICROS - rng.range(1, 200) * DAY));
    }
    let driver_offsets: Vec<i32> = driver_city.iter().map(|c| city_offset(c)).collect();
    let drivers = Table {
        columns: vec![
            (
                "driver_id",
                Values::Int((1..=drivers_n as i64).map(Some).collect()),
            ),
            ("first_name", Values::Text(first)),
            ("last_name", Values::Text(last)),
            ("phone", Values::Text(phones)),
            ("license_number", Values::Text(licenses)),
            ("rating", Values::Decimal(ratings, 1)),
            ("city", Values::Text(cities)),
            ("status", Values::Text(statuses)),
            (
                "vehicle_id",
                Values::Int((1..=drivers_n as i64).map(Some).collect()),
            ),
            ("updated_at", Values::Time(updated, driver_offsets)),
        ],
    };

    // Trips, ids growing with pickup time, and their payments.
    let mut rng = root.fork(4);
    let span_days = (trips as i64 / 2_000).clamp(7, 90);
    let spacing = (span_days * DAY / trips.max(1) as i64).max(1);
    let drivers_by_city: Vec<(&str, Vec<usize>)> = CITIES
        .iter()
        .map(|(city, _, _)| {
            (
                *city,
                (0..drivers_n)
                    .filter(|&d| driver_city[d] == *city)
                    .collect(),
            )
        })
        .collect();
    let zones_by_city: Vec<(&str, Vec<usize>)> = CITIES
        .iter()
        .map(|(city, _, _)| (*city, zones_of(city)))
        .collect();
    let mut t = TripColumns::default();
    let mut p = PaymentColumns::default();
    for index in 0..trips {
        let trip_id = index as i64 + 1;
        let customer = rng.range(0, customers_n as i64) as usize;
        let city = customer_city[customer];
        let offset = city_offset(city);
        let city_drivers = drivers_by_city
            .iter()
            .find(|(c, _)| *c == city)
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[]);
        let driver = if city_drivers.is_empty() {
            rng.range(0, drivers_n as i64) as usize
        } else {
            *rng.pick(city_drivers)
        };
        let zones = zones_by_city
            .iter()
            .find(|(c, _)| *c == city)
            .map(|(_, z)| z.as_slice())
            .unwrap_or(&[0]);
        let pickup_zone = *rng.pick(zones);
        let dropoff_zone = *rng.pick(zones);
        let pickup = START_MICROS + index as i64 * spacing + rng.range(0, spacing.max(2) / 2);
        let local_hour = ((pickup / MINUTE / 60 + i64::from(offset)).rem_euclid(24)) as u32;
        let peak = matches!(local_hour, 7..=9 | 16..=19);
        let surge = if peak && rng.chance(0.4) {
            1.0 + (rng.range(2, 16) as f64) / 10.0
        } else {
            1.0
        };
        let cancelled = rng.chance(0.05);
        let distance = rng.skewed(0.5, 40.0);
        let minutes = (distance / rng.range(18, 40) as f64 * 60.0 + rng.range(2, 8) as f64).round();
        let ride = vehicle_type_of(&vehicles, driver);
        let multiplier = RIDE_TYPES.iter().find(|r| r.0 == ride).map_or(1.0, |r| r.3);
        let method = [
            "card", "card", "card", "card", "card", "card", "card", "wallet", "wallet", "cash",
        ][rng.range(0, 10) as usize];
        t.trip_id.push(Some(trip_id));
        t.customer_id.push(Some(customer as i64 + 1));
        t.driver_id.push(Some(driver as i64 + 1));
        t.vehicle_id.push(Some(driver as i64 + 1));
        t.pickup.push(Some(pickup_zone as i64 + 1));
        t.dropoff.push(Some(dropoff_zone as i64 + 1));
        t.pickup_at.push(Some(pickup));
        t.offsets.push(offset);
        t.surge.push(Some(surge));
        if cancelled {
            t.dropoff_at.push(None);
            t.distance.push(Some(0.0));
            t.fare.push(Some(if rng.chance(0.5) { 5.0 } else { 0.0 }));
            t.tip.push(Some(0.0));
            t.status.push(Some("cancelled".to_owned()));
            t.rating.push(None);
            t.updated_at.push(Some(pickup + 3 * MINUTE));
        } else {
            let dropoff = pickup + minutes as i64 * MINUTE;
            let fare = (2.55 + 1.1 * distance + 0.35 * minutes) * multiplier * surge;
            let tip = if method != "cash" && rng.chance(0.7) {
                fare * (0.1 + rng.unit() * 0.15)
            } else {
                0.0
            };
            t.dropoff_at.push(Some(dropoff));
            t.distance.push(Some(distance));
            t.fare.push(Some(fare));
            t.tip.push(Some(tip));
            t.status.push(Some("completed".to_owned()));
            t.rating.push(Some(*rng.pick(&[5, 5, 5, 5, 4, 4, 3, 2, 1])));
            t.updated_at.push(Some(dropoff));
            let amount = ((fare + tip) * 100.0).round() / 100.0;
            let paid_at = dropoff + rng.range(5, 120) * 1_000_000;
            if rng.chance(0.02) {
                p.push(
                    index, trip_id, customer, method, amount, "failed", paid_at, offset,
                );
            }
            p.push(
                index,
                trip_id,
                customer,
                method,
                amount,
                "completed",
                paid_at + MINUTE,
                offset,
            );
            if rng.chance(0.01) {
                p.push(
                    index,
                    trip_id,
                    customer,
                    method,
                    -amount,
                    "refunded",
                    paid_at + 2 * DAY,
                    offset,
                );
            }
        }
    }
    let payment_trip = p.trip_index.clone();
    Dataset {
        customers,
        drivers,
        vehicles,
        locations,
        payments: p.into_table(),
        trips: t.into_table(),
        payment_trip,
    }
}

fn vehicle_type_of(vehicles: &Table, index: usize) -> &str {
    vehicles
        .columns
        .iter()
        .find(|(name, _)| *name == "vehicle_type")
        .and_then(|(_, values)| match values {
            Values::Text(types) => types.get(index).and_then(|t| t.as_deref()),
            _ => None,
        })
        .unwrap_or("UberX")
}

#[derive(Default)]
struct TripColumns {
    trip_id: Vec<Option<i64>>,
    customer_id: Vec<Option<i64>>,
    driver_id: Vec<Option<i64>>,
    vehicle_id: Vec<Option<i64>>,
    pickup: Vec<Option<i64>>,
    dropoff: Vec<Option<i64>>,
    pickup_at: Vec<Option<i64>>,
    dropoff_at: Vec<Option<i64>>,
    offsets: Vec<i32>,
    distance: Vec<Option<f64>>,
    fare: Vec<Option<f64>>,
    tip: Vec<Option<f64>>,
    status: Vec<Option<String>>,
    rating: Vec<Option<i64>>,
    updated_at: Vec<Option<i64>>,
    surge: Vec<Option<f64>>,
}

impl TripColumns {
    fn into_table(self) -> Table {
        Table {
            columns: vec![
                ("trip_id", Values::Int(self.trip_id)),
                ("customer_id", Values::Int(self.customer_id)),
                ("driver_id", Values::Int(self.driver_id)),
                ("vehicle_id", Values::Int(self.vehicle_id)),
                ("pickup_location_id", Values::Int(self.pickup)),
                ("dropoff_location_id", Values::Int(self.dropoff)),
                (
                    "pickup_at",
                    Values::Time(self.pickup_at, self.offsets.clone()),
                ),
                (
                    "dropoff_at",
                    Values::Time(self.dropoff_at, self.offsets.clone()),
                ),
                ("distance_km", Values::Decimal(self.distance, 2)),
                ("fare_amount", Values::Decimal(self.fare, 2)),
                ("tip_amount", Values::Decimal(self.tip, 2)),
                ("status", Values::Text(self.status)),
                ("rating", Values::Int(self.rating)),
                ("updated_at", Values::Time(self.updated_at, self.offsets)),
                // Added by the source in batch 3 (schema drift); left out before.
                ("surge_multiplier", Values::Decimal(self.surge, 2)),
            ],
        }
    }
}

#[derive(Default)]
struct PaymentColumns {
    trip_index: Vec<usize>,
    trip_id: Vec<Option<i64>>,
    customer_id: Vec<Option<i64>>,
    method: Vec<Option<String>>,
    amount: Vec<Option<f64>>,
    status: Vec<Option<String>>,
    paid_at: Vec<Option<i64>>,
    offsets: Vec<i32>,
}

impl PaymentColumns {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        index: usize,
        trip_id: i64,
        customer: usize,
        method: &str,
        amount: f64,
        status: &str,
        paid_at: i64,
        offset: i32,
    ) {
        self.trip_index.push(index);
        self.trip_id.push(Some(trip_id));
        self.customer_id.push(Some(customer as i64 + 1));
        self.method.push(Some(method.to_owned()));
        self.amount.push(Some(amount));
        self.status.push(Some(status.to_owned()));
        self.paid_at.push(Some(paid_at));
        self.offsets.push(offset);
    }

    fn into_table(self) -> Table {
        let rows = self.trip_id.len() as i64;
        Table {
            columns: vec![
                ("payment_id", Values::Int((1..=rows).map(Some).collect())),
                ("trip_id", Values::Int(self.trip_id)),
                ("customer_id", Values::Int(self.customer_id)),
                ("method", Values::Text(self.method)),
                ("amount", Values::Decimal(self.amount, 2)),
                (
                    "currency",
                    Values::Text(vec![Some("USD".to_owned()); rows as usize]),
                ),
                ("status", Values::Text(self.status)),
                ("paid_at", Values::Time(self.paid_at, self.offsets)),
            ],
        }
    }
}
