-- Type 1: the taxi zones.
select
    {{ generate_surrogate_key(['location_id']) }} as location_sk,
    location_id,
    zone,
    borough,
    city,
    service_zone,
    latitude,
    longitude
from {{ ref('stg_locations') }}
