select
    customer_id,
    first_name,
    last_name,
    email,
    phone,
    city,
    signup_date,
    updated_at
from {{ source('silver', 'customers') }}
