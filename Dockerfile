# Node 22+: the AWS SDK drops Node 20 in 2027. Brevet itself runs on Node 20 and later.
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
USER node
EXPOSE 3000
CMD ["npm", "start"]
