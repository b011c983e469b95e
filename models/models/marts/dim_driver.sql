-- SCD2: one row per version of a driver, from the snapshot.
select
    {{ generate_surrogate_key(['driver_id', 'dbt_valid_from']) }} as driver_sk,
    driver_id,
    first_name,
    last_name,
    phone,
    license_number,
    rating,
    city,
    status,
    vehicle_id,
    dbt_valid_from as valid_from,
    dbt_valid_to as valid_to,
    dbt_valid_to is null as is_current,
    coalesce(dbt_is_deleted = 'True', false) as is_deleted
from {{ ref('drivers_snapshot') }}
