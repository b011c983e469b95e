-- Type 1: the latest version of each vehicle, overwritten in place.
select
    {{ generate_surrogate_key(['vehicle_id']) }} as vehicle_sk,
    vehicle_id,
    make,
    model,
    year,
    color,
    license_plate,
    vehicle_type,
    capacity
from {{ ref('stg_vehicles') }}
