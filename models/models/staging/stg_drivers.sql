select
    driver_id,
    first_name,
    last_name,
    phone,
    license_number,
    rating,
    city,
    status,
    vehicle_id,
    updated_at
from {{ source('silver', 'drivers') }}
