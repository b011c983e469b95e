select
    c.customer_id,
    c.name,
    c.is_vip,
    count(l.order_id) as order_lines,
    coalesce(sum(l.revenue), 0) as revenue,
    min(l.order_date) as first_order_date
from {{ ref('customers') }} as c
left join {{ ref('order_lines') }} as l on l.customer_id = c.customer_id
group by c.customer_id, c.name, c.is_vip
