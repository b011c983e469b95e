select
    payment_id,
    trip_id,
    customer_id,
    method,
    amount,
    currency,
    status,
    paid_at
from {{ source('silver', 'payments') }}
