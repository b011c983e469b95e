-- The customers who spent most. An analysis: `dbt compile` writes its SQL, nothing runs it.
select customer_id, name, revenue
from {{ ref('customer_revenue') }}
order by revenue desc
limit 3
