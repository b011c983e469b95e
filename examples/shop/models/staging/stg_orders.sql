-- Orders that count: cancelled ones are left out.
select
    order_id,
    customer_id,
    sku,
    quantity,
    ordered_at,
    cast(ordered_at as date) as order_date,
    status
from {{ ref('orders') }}
where status != '{{ var("cancelled_status") }}'
