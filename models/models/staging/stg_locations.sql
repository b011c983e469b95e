select
    location_id,
    zone,
    borough,
    city,
    service_zone,
    latitude,
    longitude
from {{ source('silver', 'locations') }}
