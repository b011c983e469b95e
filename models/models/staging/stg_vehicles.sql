select
    vehicle_id,
    make,
    model,
    year,
    color,
    license_plate,
    vehicle_type,
    capacity,
    updated_at
from {{ source('silver', 'vehicles') }}
