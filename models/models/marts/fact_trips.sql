{{
    config(
        materialized='incremental',
        unique_key='trip_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns'
    )
}}
-- One row per trip. Each dimension key is the version valid at pickup, so a late
-- trip joins the customer and driver as they were when it happened.
with trips as (
    select new_trips.*
    from {{ ref('stg_trips') }} new_trips
    {% if is_incremental() %}
    left join {{ this }} existing on existing.trip_id = new_trips.trip_id
    where existing.trip_id is null or new_trips.updated_at > existing.updated_at
    {% endif %}
)
select
    trips.trip_id,
    customers.customer_sk,
    drivers.driver_sk,
    vehicles.vehicle_sk,
    pickup.location_sk as pickup_location_sk,
    dropoff.location_sk as dropoff_location_sk,
    cast({{ dbt.date_trunc('day', 'trips.pickup_at') }} as date) as pickup_date,
    trips.pickup_at,
    trips.dropoff_at,
    trips.status,
    trips.distance_km,
    trips.duration_min,
    trips.fare_amount,
    trips.tip_amount,
    trips.surge_multiplier as surge,
    trips.total_amount,
    trips.rating,
    trips.updated_at
from trips
left join {{ ref('dim_customer') }} customers
    on customers.customer_id = trips.customer_id
    and not customers.is_deleted
    and trips.pickup_at >= customers.valid_from
    and (customers.valid_to is null or trips.pickup_at < customers.valid_to)
left join {{ ref('dim_driver') }} drivers
    on drivers.driver_id = trips.driver_id
    and not drivers.is_deleted
    and trips.pickup_at >= drivers.valid_from
    and (drivers.valid_to is null or trips.pickup_at < drivers.valid_to)
left join {{ ref('dim_vehicle') }} vehicles on vehicles.vehicle_id = trips.vehicle_id
left join {{ ref('dim_location') }} pickup on pickup.location_id = trips.pickup_location_id
left join {{ ref('dim_location') }} dropoff on dropoff.location_id = trips.dropoff_location_id
